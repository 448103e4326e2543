"""Train the example's model: a least-squares linear regression saved as model.npz (numpy only).

    python examples/train.py                      # examples/model.npz
    python examples/train.py --out model-v2.npz --noise 0.5 --seed 1

The data are synthetic: y = 3 x0 - 2 x1 + 0.5 x2 + 1 + noise, 500 rows. The fitted coefficients
are close to those (least squares recovers them up to the noise), so the answers of score.py
can be checked by hand: run({"data": [[1, 0, 0]]}) is about 4.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

TRUE_COEF = np.array([3.0, -2.0, 0.5])
TRUE_INTERCEPT = 1.0


def train(seed: int = 0, noise: float = 0.1, rows: int = 500) -> tuple[np.ndarray, float]:
    """Least-squares fit of the synthetic data; (coefficients, intercept)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, TRUE_COEF.size))
    y = x @ TRUE_COEF + TRUE_INTERCEPT + rng.normal(scale=noise, size=rows)
    design = np.column_stack([x, np.ones(rows)])
    solution, *_ = np.linalg.lstsq(design, y, rcond=None)
    return solution[:-1], float(solution[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("model.npz"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--noise", type=float, default=0.1)
    args = parser.parse_args()
    coef, intercept = train(args.seed, args.noise)
    np.savez(args.out, coef=coef, intercept=np.array(intercept))
    print(f"saved {args.out}: coef {np.round(coef, 3).tolist()}, intercept {intercept:.3f}")


if __name__ == "__main__":
    main()
