"""The layering STYLE.md asks for, checked on the import graph: AWS clients and the simulator import
neither Django nor the dashboard; only collectors/aws and collectors/simulator import boto3/botocore."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imports_of(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def python_files(*parts):
    return sorted((ROOT.joinpath(*parts)).rglob("*.py"))


def test_aws_clients_and_simulator_do_not_import_django_or_dashboard():
    files = (
        python_files("collectors", "aws")
        + python_files("collectors", "simulator")
        + [ROOT / "collectors/model.py"]
    )
    assert len(files) > 3
    for path in files:
        assert not imports_of(path) & {"django", "dashboard"}, path


def test_only_client_modules_import_boto3():
    allowed = {ROOT / "collectors" / "aws", ROOT / "collectors" / "simulator"}
    # runtime.py builds the simulator's dummy-credential session: the composition root, no AWS calls.
    allowed_files = {ROOT / "collectors" / "runtime.py"}
    for base in ("collectors", "dashboard"):
        for path in python_files(base):
            if path in allowed_files or any(parent in allowed for parent in path.parents):
                continue
            assert not imports_of(path) & {"boto3"}, path


def test_pages_never_import_collectors():
    """Pages read Postgres only; nothing on a page view calls AWS."""
    for path in python_files("dashboard", "views"):
        assert "collectors" not in imports_of(path), path


def test_the_product_never_imports_the_benchmark():
    """bench/ is a harness: the product must run without it."""
    for base in ("collectors", "dashboard"):
        for path in python_files(base):
            assert "bench" not in imports_of(path), path
