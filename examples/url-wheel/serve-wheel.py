"""Builds greet-1.0-py3-none-any.whl from greet_pkg/ and serves it on http://127.0.0.1:8765/.

Run it next to a local node, then submit this folder:
    python3 examples/url-wheel/serve-wheel.py &
    node packages/cli/dist/main.js submit examples/url-wheel --wait
"""
import base64
import hashlib
import http.server
import io
import os
import pathlib
import zipfile

HERE = pathlib.Path(__file__).resolve().parent
NAME, VERSION = "greet", "1.0"
DIST = f"{NAME}-{VERSION}.dist-info"


def build_wheel() -> bytes:
    files = {
        f"{NAME}/__init__.py": (HERE / "greet_pkg" / NAME / "__init__.py").read_bytes(),
        f"{DIST}/METADATA": f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\n".encode(),
        f"{DIST}/WHEEL": b"Wheel-Version: 1.0\nGenerator: edgefleet-example\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{DIST}/RECORD,,")
    files[f"{DIST}/RECORD"] = ("\n".join(record) + "\n").encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in files.items():
            z.writestr(path, data)
    return buf.getvalue()


if __name__ == "__main__":
    out = HERE / "dist"
    out.mkdir(exist_ok=True)
    (out / f"{NAME}-{VERSION}-py3-none-any.whl").write_bytes(build_wheel())
    os.chdir(out)
    port = int(os.environ.get("PORT", "8765"))
    print(f"serving {out} on http://127.0.0.1:{port}/", flush=True)
    http.server.ThreadingHTTPServer(("127.0.0.1", port), http.server.SimpleHTTPRequestHandler).serve_forever()
