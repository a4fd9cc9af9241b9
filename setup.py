"""Lists the subpackages of the folders that pyproject.toml maps under `botfakes`.

pyproject.toml alone cannot combine `package-dir` renames with package discovery, so the list is
computed here: every package found under fakes/, reference_bot/ and scenarios/ is installed as
`botfakes.<folder>.<...>`.
"""

from setuptools import find_packages, setup

MAPPED = ("fakes", "reference_bot", "scenarios")

packages = ["botfakes"] + [
    f"botfakes.{name}" for name in find_packages(include=[f"{root}*" for root in MAPPED])
]
setup(packages=packages)
