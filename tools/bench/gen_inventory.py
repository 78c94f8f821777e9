#!/usr/bin/env python3
"""Writes a `kubectl get nodes -o json` inventory of N nodes with GPU Feature
Discovery labels, for benchmarking `policyctl fleet` and `policyctl diff`.

Each node carries the labels and status a GFD-labelled node has (about 2 KB,
the size of a real node without its images list): a mix of catalog products
(H100, H200, A100, L4, RTX 4090, B200, GB10), a product the catalog lacks,
several drivers, MIG single-strategy nodes, and CPU-only nodes (skipped).
Deterministic: the same N gives the same file.

usage: gen_inventory.py N OUT.json
"""
import json
import random
import sys

PRODUCTS = [
    # (product label, major, minor, memory MiB, family, weight)
    ("NVIDIA-H100-80GB-HBM3", "9", "0", "81559", "hopper", 30),
    ("NVIDIA-H200", "9", "0", "143771", "hopper", 10),
    ("NVIDIA-A100-SXM4-80GB", "8", "0", "81920", "ampere", 15),
    ("NVIDIA-A100-SXM4-80GB-MIG-1g.10gb", "8", "0", "9728", "ampere", 3),
    ("NVIDIA-L4", "8", "9", "23034", "ada-lovelace", 15),
    ("NVIDIA-GeForce-RTX-4090", "8", "9", "24564", "ada-lovelace", 5),
    ("NVIDIA-B200", "10", "0", "183359", "blackwell", 8),
    ("NVIDIA-GB10", "12", "1", "131072", "blackwell", 4),
    ("NVIDIA-A10G", "8", "6", "23028", "ampere", 5),
    (None, None, None, None, None, 5),  # a CPU node
]
DRIVERS = [("550", "54", "15"), ("535", "104", "05"), ("560", "35", "03"), ("580", "95", "05")]


def node(i, rng):
    name = "node-%06d" % i
    labels = {
        "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": "bare-metal", "topology.kubernetes.io/zone": "zone-%d" % (i % 3),
        "feature.node.kubernetes.io/cpu-model.vendor_id": "Intel",
        "feature.node.kubernetes.io/kernel-version.full": "6.8.0-49-generic",
    }
    product, major, minor, memory, family, _ = rng.choices(PRODUCTS, weights=[p[5] for p in PRODUCTS])[0]
    capacity = {"cpu": "64", "ephemeral-storage": "1870000000Ki", "memory": "528000000Ki", "pods": "110"}
    if product:
        d = rng.choice(DRIVERS)
        count = "56" if "MIG" in product else rng.choice(["1", "2", "4", "8"])
        labels.update({
            "nvidia.com/gpu.present": "true", "nvidia.com/gpu.product": product,
            "nvidia.com/gpu.compute.major": major, "nvidia.com/gpu.compute.minor": minor,
            "nvidia.com/gpu.count": count, "nvidia.com/gpu.memory": memory, "nvidia.com/gpu.family": family,
            "nvidia.com/gpu.machine": "PowerEdge-XE9680", "nvidia.com/gpu.mode": "compute",
            "nvidia.com/gpu.replicas": "1", "nvidia.com/gpu.sharing-strategy": "none",
            "nvidia.com/cuda.driver-version.major": d[0], "nvidia.com/cuda.driver-version.minor": d[1],
            "nvidia.com/cuda.driver-version.revision": d[2], "nvidia.com/cuda.driver-version.full": ".".join(d),
            "nvidia.com/cuda.driver.major": d[0], "nvidia.com/cuda.driver.minor": d[1],
            "nvidia.com/cuda.driver.rev": d[2],
            "nvidia.com/cuda.runtime-version.major": "12", "nvidia.com/cuda.runtime-version.minor": "8",
            "nvidia.com/gfd.timestamp": "1763625600",
            "nvidia.com/mig.capable": "true" if major in ("8", "9", "10") else "false",
        })
        if "MIG" in product:
            labels.update({"nvidia.com/mig.strategy": "single", "nvidia.com/gpu.multiprocessors": "14",
                           "nvidia.com/gpu.slices.gi": "1", "nvidia.com/gpu.slices.ci": "1"})
        capacity["nvidia.com/gpu"] = count
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {
            "name": name, "uid": "6f1c%012x" % i, "resourceVersion": str(1000 + i),
            "creationTimestamp": "2026-11-20T08:00:00Z", "labels": labels,
            "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                            "volumes.kubernetes.io/controller-managed-attach-detach": "true"},
        },
        "spec": {"podCIDR": "10.%d.%d.0/24" % (i // 256 % 256, i % 256)},
        "status": {
            "capacity": capacity, "allocatable": capacity,
            "addresses": [{"type": "InternalIP", "address": "10.1.%d.%d" % (i // 256 % 256, i % 256)},
                          {"type": "Hostname", "address": name}],
            "nodeInfo": {"architecture": "amd64", "containerRuntimeVersion": "containerd://1.7.22",
                         "kernelVersion": "6.8.0-49-generic", "kubeletVersion": "v1.31.2",
                         "operatingSystem": "linux", "osImage": "Ubuntu 24.04.1 LTS"},
        },
    }


def main():
    n, out = int(sys.argv[1]), sys.argv[2]
    rng = random.Random(14)
    with open(out, "w") as f:
        f.write('{"apiVersion":"v1","kind":"List","metadata":{"resourceVersion":""},"items":[\n')
        for i in range(n):
            f.write(("," if i else "") + json.dumps(node(i, rng), indent=None) + "\n")
        f.write("]}\n")


if __name__ == "__main__":
    main()
