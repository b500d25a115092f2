"""The package's PEP 517 build backend: builds the wave-init wheel with the
standard library alone.

pip builds a package in an isolated environment and installs its backend
there from a package index first; with setuptools as the backend,
`pip install ./client/python` fails on a machine without network access
("No matching distribution found for setuptools>=61"). This backend needs
nothing (`requires = []`), reads the project table of pyproject.toml, and
writes the wheel straight into pip's output folder, so the source tree is
left as it was (setuptools leaves build/ and an egg-info in it). The wheel is
pure Python: the package's files, METADATA, WHEEL and RECORD (PEP 427).
"""
import base64
import hashlib
import os
import tomllib
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "wave_init"


def _project():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)["project"]


def _dist_name(project):
    return project["name"].replace("-", "_")


def _metadata(project):
    lines = ["Metadata-Version: 2.1", f"Name: {project['name']}",
             f"Version: {project['version']}", f"Summary: {project['description']}",
             f"Requires-Python: {project['requires-python']}"]
    lines += [f"Requires-Dist: {d}" for d in project.get("dependencies", [])]
    for extra, deps in project.get("optional-dependencies", {}).items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f'Requires-Dist: {d}; extra == "{extra}"' for d in deps]
    readme = project.get("readme")
    body = ""
    if readme:
        lines.append("Description-Content-Type: text/markdown")
        with open(os.path.join(ROOT, readme), encoding="utf-8") as f:
            body = f.read()
    return "\n".join(lines) + "\n\n" + body


def _wheel_file():
    return ("Wheel-Version: 1.0\nGenerator: wave_build\nRoot-Is-Purelib: true\n"
            "Tag: py3-none-any\n")


def _package_files():
    for dirpath, dirnames, files in os.walk(os.path.join(ROOT, PACKAGE)):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".py", ".pyi", ".typed")):
                path = os.path.join(dirpath, name)
                yield os.path.relpath(path, ROOT), path


def _record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arcname},sha256={digest},{len(data)}"


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    project = _project()
    info = f"{_dist_name(project)}-{project['version']}.dist-info"
    os.makedirs(os.path.join(metadata_directory, info), exist_ok=True)
    with open(os.path.join(metadata_directory, info, "METADATA"), "w", encoding="utf-8") as f:
        f.write(_metadata(project))
    with open(os.path.join(metadata_directory, info, "WHEEL"), "w") as f:
        f.write(_wheel_file())
    return info


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    project = _project()
    name, version = _dist_name(project), project["version"]
    info = f"{name}-{version}.dist-info"
    wheel_name = f"{name}-{version}-py3-none-any.whl"
    records = []
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel_name), "w",
                         zipfile.ZIP_DEFLATED) as wheel:
        def add(arcname, data):
            wheel.writestr(arcname, data)
            records.append(_record_line(arcname, data))
        for arcname, path in _package_files():
            with open(path, "rb") as f:
                add(arcname, f.read())
        add(f"{info}/METADATA", _metadata(project).encode("utf-8"))
        add(f"{info}/WHEEL", _wheel_file().encode())
        records.append(f"{info}/RECORD,,")
        wheel.writestr(f"{info}/RECORD", "\n".join(records) + "\n")
    return wheel_name


def build_sdist(sdist_directory, config_settings=None):
    import tarfile
    project = _project()
    base = f"{_dist_name(project)}-{project['version']}"
    with tarfile.open(os.path.join(sdist_directory, base + ".tar.gz"), "w:gz") as sdist:
        for name in ("pyproject.toml", "README.md"):
            sdist.add(os.path.join(ROOT, name), f"{base}/{name}")
        sdist.add(os.path.join(ROOT, "build_backend", "wave_build.py"),
                  f"{base}/build_backend/wave_build.py")
        for arcname, path in _package_files():
            sdist.add(path, f"{base}/{arcname}")
    return base + ".tar.gz"
