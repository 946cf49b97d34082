#!/usr/bin/env python3
"""reference.py - CUPED's reference for tests/integration/cuped.sh: data sets, and what
statsmodels' OLS y ~ C(arm) + x (nonrobust) says of each treatment's coefficient.

  reference.py gen DIR        writes DIR/NAME.units ("ARM X Y" a line, X "-" when the unit
                              has no covariate) and DIR/NAME.ref ("ARM DIFF SE THETA") for
                              every data set, and DIR/sets (their names, one a line)

A unit without a covariate counts x = 0 (GrowthBook's convention, the engine's): statsmodels
is given 0 for it. The OLS is fit to the data shifted by constants (the first unit's x and y,
subtracted exactly: Sterbenz), which changes no treatment coefficient nor its standard error
but keeps statsmodels' own float64 solve accurate at offsets of 1e9.

Exits 3, saying so, when statsmodels is missing: the test must fail, not skip.
"""
import os
import sys

try:
    import numpy as np
    import pandas as pd
    import statsmodels.formula.api as smf
except ImportError as e:  # pragma: no cover
    print(f"reference.py: statsmodels is missing ({e}): scripts/deps.sh installs "
          "python3-statsmodels", file=sys.stderr)
    sys.exit(3)


def data_set(rng, sizes, offset, rho, missing, effects):
    """Units of len(sizes) arms: x = offset + N(0, 1) (missing with probability `missing`),
    y = offset + rho x' + sqrt(1 - rho^2) e + effect, x' the standardised covariate."""
    rows = []
    for arm, n in enumerate(sizes):
        for _ in range(n):
            z = rng.standard_normal()
            e = rng.standard_normal()
            y = offset + rho * z + np.sqrt(1 - rho * rho) * e + effects[arm]
            # round to 6 decimals: the same double in JSON, in C and in Python
            y = float(f"{y:.6f}")
            x = None if rng.random() < missing else float(f"{offset + z:.6f}")
            rows.append((arm, x, y))
    return rows


SETS = {
    # name: (sizes, offset, rho, missing share, effect per arm)
    "three_arms_unequal": ([400, 250, 330], 0.0, 0.7, 0.0, [0, 0.2, -0.1]),
    "uncorrelated": ([300, 300], 0.0, 0.0, 0.0, [0, 0.1]),
    "missing_covariates": ([350, 420, 200], 5.0, 0.8, 0.3, [0, 0.15, 0.0]),
    "offset_1e9": ([300, 260], 1e9, 0.7, 0.0, [0, 0.25]),
    "four_arms_negative": ([200, 150, 180, 120], -40.0, -0.6, 0.1, [0, 0.3, 0.0, -0.2]),
}


def ols(rows):
    x0 = next((x for _, x, _ in rows if x is not None), 0.0)
    y0 = rows[0][2]
    df = pd.DataFrame(
        {
            "arm": [f"a{a:02d}" for a, _, _ in rows],
            # x = 0 for a unit without one, shifted like the others
            "x": [(x if x is not None else 0.0) - x0 for _, x, _ in rows],
            "y": [y - y0 for _, _, y in rows],
        }
    )
    fit = smf.ols("y ~ C(arm) + x", data=df).fit()
    out = []
    arms = sorted({a for a, _, _ in rows})
    for a in arms[1:]:
        name = f"C(arm)[T.a{a:02d}]"
        out.append((a, fit.params[name], fit.bse[name], fit.params["x"]))
    return out


def main():
    if len(sys.argv) != 3 or sys.argv[1] != "gen":
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    d = sys.argv[2]
    rng = np.random.default_rng(26)
    with open(os.path.join(d, "sets"), "w") as sets:
        for name, (sizes, offset, rho, missing, effects) in SETS.items():
            rows = data_set(rng, sizes, offset, rho, missing, effects)
            with open(os.path.join(d, name + ".units"), "w") as f:
                for a, x, y in rows:
                    f.write(f"{a} {'-' if x is None else repr(x)} {y!r}\n")
            with open(os.path.join(d, name + ".ref"), "w") as f:
                for a, diff, se, theta in ols(rows):
                    f.write(f"{a} {diff!r} {se!r} {theta!r}\n")
            sets.write(name + "\n")


if __name__ == "__main__":
    main()
