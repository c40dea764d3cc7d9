# GPU smoke job: reports the CUDA device this job can use, through the driver API (libcuda via
# ctypes: nothing to install). Ends SUCCEEDED with "no GPU present" on a device without CUDA;
# FAILED (exit 2) when CUDA is there but this job cannot initialise it (e.g. the job processes
# lack the group owning /dev/nvmap or /dev/nvidia*).
import ctypes
import glob
import json
import os
import sys

NODES = ["/dev/nvmap", "/dev/nvhost-*", "/dev/nvgpu/*/*", "/dev/nvidia*", "/dev/dri/*"]


def device_nodes():
    out = {}
    for pattern in NODES:
        for path in sorted(glob.glob(pattern)):
            try:
                os.close(os.open(path, os.O_RDWR))
                out[path] = "ok"
            except OSError as e:
                out[path] = e.strerror
    return out


def cuda_report():
    lib = None
    for name in ("libcuda.so.1", "libcuda.so"):
        try:
            lib = ctypes.CDLL(name)
            break
        except OSError:
            continue
    if lib is None:
        return {"gpu": False, "why": "no GPU present: libcuda (the NVIDIA driver) not found"}
    rc = lib.cuInit(0)
    if rc == 100:  # CUDA_ERROR_NO_DEVICE (cuda.h): a driver without a GPU
        return {"gpu": False, "why": "no GPU present: the driver finds no CUDA device"}
    if rc != 0:
        return {"gpu": False, "error": f"cuInit failed with CUresult {rc}"}
    count = ctypes.c_int(0)
    lib.cuDeviceGetCount(ctypes.byref(count))
    if count.value == 0:
        return {"gpu": False, "why": "no GPU present: CUDA sees 0 devices"}
    devices = []
    for i in range(count.value):
        dev = ctypes.c_int(0)
        lib.cuDeviceGet(ctypes.byref(dev), i)
        name = ctypes.create_string_buffer(256)
        lib.cuDeviceGetName(name, 256, dev)
        mem = ctypes.c_size_t(0)
        lib.cuDeviceTotalMem_v2(ctypes.byref(mem), dev)
        major, minor = ctypes.c_int(0), ctypes.c_int(0)
        # CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75, _MINOR = 76 (cuda.h)
        lib.cuDeviceGetAttribute(ctypes.byref(major), 75, dev)
        lib.cuDeviceGetAttribute(ctypes.byref(minor), 76, dev)
        devices.append(
            {
                "index": i,
                "name": name.value.decode(errors="replace"),
                "memoryMiB": mem.value // (1024 * 1024),
                "computeCapability": f"{major.value}.{minor.value}",
            }
        )
    return {"gpu": True, "devices": devices}


report = cuda_report()
report["deviceNodes"] = device_nodes()
report["groups"] = sorted(os.getgroups())
report["visibleDevices"] = {
    k: os.environ[k] for k in ("CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES") if k in os.environ
}
out_dir = os.environ.get("EDGEFLEET_OUTPUT_DIR", ".")
with open(os.path.join(out_dir, "gpu.json"), "w") as f:
    json.dump(report, f, indent=2)

if report.get("gpu"):
    for d in report["devices"]:
        print(f"CUDA device {d['index']}: {d['name']}, {d['memoryMiB']} MiB, compute {d['computeCapability']}")
elif "error" in report:
    print(f"CUDA is installed but unusable by this job: {report['error']}", file=sys.stderr)
    print(f"device nodes: {report['deviceNodes']}, groups: {report['groups']}", file=sys.stderr)
    sys.exit(2)
else:
    print(report["why"])
