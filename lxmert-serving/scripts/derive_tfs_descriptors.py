#!/usr/bin/env python3
"""Derives lxmert-serving/src/main/descriptors/tensorflow_serving.desc from the tensorflow-serving-api wheel.

The wheel (PyPI, no .proto files) ships only generated _pb2 modules; each carries its file's serialized
FileDescriptorProto. This script
  1. downloads the wheel with pip (or takes --wheel), records its sha256, unpacks it to a temporary directory,
  2. imports every tensorflow_serving.apis / tensorflow_serving.config _pb2 module and dumps the files they
     reach (tensorflow_serving/..., tensorflow/core/..., tsl/..., google/protobuf/...) as a FileDescriptorSet,
  3. runs TfJavaDescriptors.java (beside this script) with TF Java and protobuf-java on the class path: it keeps
     the tensorflow_serving/ files and replaces every other file by the descriptor TF Java 1.1.0 / protobuf-java
     compiled in (java_package org.tensorflow.proto, ...), after checking the messages are field-for-field the
     same, so protoc generates serving classes that use org.tensorflow.proto.TensorProto,
  4. writes the set and tensorflow_serving.desc.provenance.json (versions, hashes, what was replaced by what).

Run with the pinned venv (protobuf 5.x):
  ~/.cache/tf-lxmert/venv/bin/python lxmert-serving/scripts/derive_tfs_descriptors.py
The build (lxmert-serving/pom.xml) compiles the committed set with protoc --descriptor_set_in; nothing here runs
at build time.
"""
import argparse
import hashlib
import importlib
import json
import os
import pathlib
import pkgutil
import subprocess
import sys
import tempfile
import zipfile

WHEEL = "tensorflow-serving-api"
WHEEL_VERSION = "2.18.0"
HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE.parent / "src" / "main" / "descriptors" / "tensorflow_serving.desc"


def m2_jar(group, artifact, version):
    p = pathlib.Path.home() / ".m2" / "repository" / group.replace(".", "/") / artifact / version / f"{artifact}-{version}.jar"
    if not p.is_file():
        sys.exit(f"{p}: expected the jar (run `mvn -pl lxmert-serving -am test-compile` once to fetch it), found nothing")
    return p


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wheel", help="a downloaded tensorflow_serving_api wheel (default: pip download it)")
    ap.add_argument("--tf-java-version", default="1.1.0")
    ap.add_argument("--protobuf-java-version", default="3.25.9")
    ap.add_argument("--out", default=str(OUT))
    a = ap.parse_args()

    os.environ["PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION"] = "python"  # prediction_service_pb2 needs it
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        wheel = pathlib.Path(a.wheel) if a.wheel else None
        if wheel is None:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q",
                            "-d", str(tmp / "dl"), f"{WHEEL}=={WHEEL_VERSION}"], check=True)
            wheel = next((tmp / "dl").glob("*.whl"))
        sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
        with zipfile.ZipFile(wheel) as z:
            z.extractall(tmp / "src")
        sys.path.insert(0, str(tmp / "src"))
        import google.protobuf
        from google.protobuf import descriptor_pb2

        modules = []
        for pkg in ("tensorflow_serving.apis", "tensorflow_serving.config"):
            p = importlib.import_module(pkg)
            for info in pkgutil.iter_modules(p.__path__):
                if info.name.endswith("_pb2"):
                    modules.append(importlib.import_module(f"{pkg}.{info.name}"))
        files, seen = [], set()

        def walk(fd):
            if fd.name in seen:
                return
            seen.add(fd.name)
            for d in fd.dependencies:
                walk(d)
            fp = descriptor_pb2.FileDescriptorProto()
            fd.CopyToProto(fp)
            files.append(fp)

        for m in sorted(modules, key=lambda m: m.__name__):
            walk(m.DESCRIPTOR)
        raw = descriptor_pb2.FileDescriptorSet(file=files)
        raw_path = tmp / "wheel.desc"
        raw_path.write_bytes(raw.SerializeToString())

        jars = [m2_jar("org.tensorflow", "tensorflow-core-native", a.tf_java_version),
                m2_jar("com.google.protobuf", "protobuf-java", a.protobuf_java_version)]
        out = pathlib.Path(a.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(["java", "-cp", os.pathsep.join(map(str, jars)), str(HERE / "TfJavaDescriptors.java"),
                            str(raw_path), str(out)] + [str(j) for j in jars],
                           check=False, capture_output=True, text=True)
        sys.stdout.write(r.stdout)
        if r.returncode != 0:
            sys.stderr.write(r.stderr)
            sys.exit(f"TfJavaDescriptors failed (exit {r.returncode})")
        merged = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
        provenance = {
            "file": out.name,
            "sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
            "made_by": "lxmert-serving/scripts/derive_tfs_descriptors.py (+ TfJavaDescriptors.java)",
            "wheel": {"name": WHEEL, "version": WHEEL_VERSION, "file": wheel.name, "sha256": sha,
                      "source": "PyPI" if not a.wheel else "given"},
            "python_protobuf": google.protobuf.__version__,
            "tf_java": a.tf_java_version,
            "protobuf_java": a.protobuf_java_version,
            "java": subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0],
            "serving_modules": [m.__name__ for m in sorted(modules, key=lambda m: m.__name__)],
            "files": [f.name for f in merged.file],
            "log": r.stdout.splitlines(),
        }
        out.with_name(out.name + ".provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
        print(f"wrote {out} ({len(merged.file)} files) and its provenance")


if __name__ == "__main__":
    main()
