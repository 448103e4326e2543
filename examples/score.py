"""The example's scoring script, in the shape of Azure ML's guide: init() loads, run() predicts.

init() loads model.npz from AZUREML_MODEL_DIR (where the platform, and `planner serve --model`,
put the deployment's model). run() takes {"data": [[x0, x1, x2], ...]} and answers the
predictions as a list.
"""

import json
import os

import numpy as np


class LinearModel:
    """y = X @ coef + intercept."""

    def __init__(self, coef, intercept):
        self.coef = np.asarray(coef, dtype=float)
        self.intercept = float(intercept)

    def predict(self, x):
        return x @ self.coef + self.intercept


model = None


def init():
    global model
    path = os.path.join(os.getenv("AZUREML_MODEL_DIR", "."), "model.npz")
    with np.load(path) as saved:
        model = LinearModel(saved["coef"], saved["intercept"])


def run(raw_data):
    data = np.array(json.loads(raw_data)["data"], dtype=float)
    result = model.predict(data)
    return result.tolist()
