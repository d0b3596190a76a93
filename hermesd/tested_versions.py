"""The releases of hermesd's direct dependencies that the dependency matrix passed: (lowest, newest).

Written by scripts/dependency_matrix.py when both of its legs pass; do not edit. `hermesd doctor`
warns when an installed version lies outside its range."""

TESTED: dict[str, tuple[str, str]] = {
    "pygls": ("2.0.0", "2.1.1"),
    "lsprotocol": ("2025.0.0", "2025.0.0"),
    "openai": ("1.90.0", "3.63.0"),
    "httpx": ("0.27.0", "0.29.0"),
    "httpx-sse": ("0.4.0", "0.4.3"),
    "pyyaml": ("6.0", "6.0.4"),
    "ruamel-yaml": ("0.18.0", "0.19.1"),
    "platformdirs": ("4.0.0", "4.14.9"),
    "agent-client-protocol": ("0.12.1", "0.12.1"),
    "botocore": ("1.34.116", "1.44.18"),
}
OPTIONAL = ("botocore",)  # the bedrock extra's
