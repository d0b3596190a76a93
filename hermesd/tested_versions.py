"""The releases of hermesd's direct dependencies that the dependency matrix passed: (lowest, newest).

Written by scripts/dependency_matrix.py when both of its legs pass; do not edit. `hermesd doctor`
warns when an installed version lies outside its range."""

TESTED: dict[str, tuple[str, str]] = {
}
OPTIONAL = ("botocore",)  # the bedrock extra's
