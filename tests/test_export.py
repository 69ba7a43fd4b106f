"""Export to TF Serving: signatures checked in a fresh process, layout, warm-up, safety."""

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import ganzoo
from ganzoo import export
from ganzoo import images as images_lib
from ganzoo.cli import main as cli_main

from conftest import tiny_model

# Every zoo entry, plus two conditional variants: a DCGAN with an EMA generator and a small
# max_num to test the batch limit, and a ResNet (conditional batch norm, projection
# discriminator).
VARIANTS = {name: (name, {}, export.DEFAULT_MAX_NUM) for name in ganzoo.list_models()}
VARIANTS["cond_ema"] = ("dcgan_mnist", {"num_classes": 3, "ema_decay": 0.9}, 4)
VARIANTS["cond_resnet"] = ("sngan_cifar10_resnet", {"num_classes": 3}, export.DEFAULT_MAX_NUM)
# One export per network family runs by default (DCGAN nets; the SN-GAN CNN with conditional BN
# and the projection discriminator; the ResNet nets; the EMA and batch-limit variant); every
# other entry is exported in the slow run.
FAST = ("dcgan_mnist", "sngan_projection_mnist", "cond_ema", "cond_resnet")
SLOW = tuple(k for k in VARIANTS if k not in FAST)
CLI_CHECKED = ("cond_ema",)  # `saved_model_cli show --all` on a conditional model (every input kind)
SESSION_CHECKED = ("cond_ema", "dcgan_mnist")  # requests fed like TF Serving does
NUM, SEED = 3, 11
TOL = 1e-5

# Runs in a fresh interpreter that imports TensorFlow and the serving protos, never ganzoo.
FRESH_PROCESS = r'''
import json, re, sys
import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import config_pb2
from tensorflow_serving.apis import prediction_log_pb2

manifest = json.load(open(sys.argv[1]))
NUM, SEED = int(sys.argv[2]), int(sys.argv[3])
report = {}


def error_of(fn):
    """None, or [type name, ganzoo's assertion text (else the error's first 300 characters)]."""
    try:
        fn()
    except Exception as e:  # report it; the process must survive
        found = re.search(r"assertion failed: \[(.*?)\]\s*(\n|$)", str(e))
        return [type(e).__name__, found.group(1) if found else str(e)[:300]]
    return None


def spec_table(sig):
    inputs = {k: [v.dtype.name, v.shape.as_list()] for k, v in sig.structured_input_signature[1].items()}
    outputs = {k: [v.dtype.name, v.shape.as_list()] for k, v in sig.structured_outputs.items()}
    return {"inputs": inputs, "outputs": outputs}


def session_errors(version_dir, requests):
    """Feeds raw tensors by signature tensor names into a Session, as TF Serving does
    (no Python-side shape or dtype checks)."""
    out = {}
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        meta = tf.compat.v1.saved_model.loader.load(sess, ["serve"], version_dir)
        for label, (signature, feeds) in requests.items():
            sig = meta.signature_def[signature]
            keys = sorted(feeds)
            options = config_pb2.CallableOptions()
            options.feed.extend(sig.inputs[k].name for k in keys)
            options.fetch.extend(sig.outputs[k].name for k in sorted(sig.outputs))
            run = sess._make_callable_from_options(options)  # raw feeds, like the server
            out[label] = error_of(lambda: run(*[feeds[k] for k in keys]))
    return out


for item in manifest:
    key = item["key"]
    inp = dict(np.load(item["inputs"]))
    cond = item["conditional"]
    loaded = tf.saved_model.load(item["dir"])
    sigs = loaded.signatures
    r = {"signatures": {name: spec_table(sigs[name]) for name in sigs}}
    lab = {"labels": tf.constant(inp["labels"])} if cond else {}
    outs = {}
    outs["default_images"] = sigs["serving_default"](z=tf.constant(inp["z"]), **lab)["images"]
    g = sigs["generate"](num=tf.constant(NUM, tf.int32), seed=tf.constant(SEED, tf.int64))
    g2 = sigs["generate"](num=tf.constant(NUM, tf.int32), seed=tf.constant(SEED, tf.int64))
    g3 = sigs["generate"](num=tf.constant(NUM, tf.int32), seed=tf.constant(SEED + 1, tf.int64))
    for k, v in g.items():
        if k != "png_bytes":  # strings: checked below by decoding them
            outs["generate_" + k] = v
    r["generate_repeatable"] = all(np.array_equal(g[k].numpy(), g2[k].numpy()) for k in g)
    r["generate_seed_matters"] = not np.array_equal(g["images"].numpy(), g3["images"].numpy())
    outs["generate_png_decoded"] = tf.stack([tf.io.decode_png(p) for p in tf.unstack(g["png_bytes"])])
    outs["logits"] = sigs["discriminate"](images=tf.constant(inp["images"]), **lab)["logits"]
    np.savez(item["outputs"], **{k: v.numpy() for k, v in outs.items()})

    # Warm-up records: parse, compare with the signatures, replay like the server.
    warm = []
    for record in tf.data.TFRecordDataset(item["dir"] + "/assets.extra/tf_serving_warmup_requests"):
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
        req = log.predict_log.request
        feeds = {k: tf.make_ndarray(v) for k, v in req.inputs.items()}
        entry = {
            "kind": log.WhichOneof("log_type"),
            "model": req.model_spec.name,
            "signature": req.model_spec.signature_name,
            "inputs": {k: [tf.as_dtype(v.dtype).name, list(v.shape)] for k, v in feeds.items()},
        }
        entry["error"] = error_of(lambda: sigs[entry["signature"]](**{k: tf.constant(v) for k, v in feeds.items()}))
        warm.append(entry)
    r["warmup"] = warm

    # Bad requests through the loaded signatures; then a good one (still alive).
    m = item["max_num"]
    L = inp["z"].shape[1]
    labels = lambda n: {"labels": tf.zeros([n], tf.int32)} if cond else {}
    gen = lambda n: sigs["generate"](num=tf.constant(n, tf.int32), seed=tf.constant(0, tf.int64))
    bad = {
        "num_zero": lambda: gen(0),
        "num_negative": lambda: gen(-5),
        "num_over_max": lambda: gen(m + 1),
        "num_huge": lambda: gen(2**31 - 1),
        "num_wrong_dtype": lambda: sigs["generate"](num=tf.constant(2.0), seed=tf.constant(0, tf.int64)),
        "z_wrong_size": lambda: sigs["serving_default"](z=tf.zeros([2, L + 1]), **labels(2)),
        "z_wrong_dtype": lambda: sigs["serving_default"](z=tf.zeros([2, L], tf.float64), **labels(2)),
        "z_batch_over_max": lambda: sigs["serving_default"](z=tf.zeros([m + 1, L]), **labels(m + 1)),
        "images_wrong_shape": lambda: sigs["discriminate"](images=tf.zeros([2, 5, 5, 1]), **labels(2)),
    }
    H, W, C = inp["images"].shape[1:]
    disc = lambda images, n: sigs["discriminate"](images=images, **labels(n))
    bad.update({
        # a rank-1 z longer than max_num: its shape is the problem, not the batch size
        "z_rank1": lambda: sigs["serving_default"](z=tf.zeros([m + L]), **labels(1)),
        "z_one_vector": lambda: sigs["serving_default"](z=tf.zeros([L]), **labels(1)),
        "z_rank3": lambda: sigs["serving_default"](z=tf.zeros([2, L, 1]), **labels(2)),
        "z_nan": lambda: sigs["serving_default"](z=tf.fill([2, L], float("nan")), **labels(2)),
        "num_not_scalar": lambda: sigs["generate"](num=tf.constant([2]), seed=tf.constant(0, tf.int64)),
        "seed_not_scalar": lambda: sigs["generate"](num=tf.constant(2), seed=tf.constant([0, 1], tf.int64)),
        "images_out_of_range": lambda: disc(tf.fill([1, H, W, C], 200.0), 1),
        "images_nan": lambda: disc(tf.fill([1, H, W, C], float("nan")), 1),
        "images_rank3": lambda: disc(tf.zeros([H, W, C]), 1),
    })
    if cond:
        bad["labels_out_of_range"] = lambda: sigs["serving_default"](
            z=tf.zeros([2, L]), labels=tf.constant([0, 99], tf.int32))
        bad["labels_rank2"] = lambda: sigs["serving_default"](z=tf.zeros([2, L]), labels=tf.zeros([2, 1], tf.int32))
        bad["labels_scalar"] = lambda: sigs["serving_default"](z=tf.zeros([1, L]), labels=tf.constant(0))
        bad["labels_count"] = lambda: sigs["serving_default"](z=tf.zeros([2, L]), labels=tf.zeros([3], tf.int32))
        bad["discriminate_labels_out_of_range"] = lambda: sigs["discriminate"](
            images=tf.zeros([2, H, W, C]), labels=tf.constant([-1, 0], tf.int32))
    r["bad"] = {k: error_of(f) for k, f in bad.items()}
    r["alive_after_errors"] = error_of(lambda: gen(1)) is None
    # within the margin of [-1, 1] (ganzoo.image_scale.MARGIN = 1e-3): accepted
    edge = tf.reshape(tf.where(tf.range(H * W * C) % 2 == 0, 1.0009, -1.0009), [1, H, W, C])
    r["margin_accepted"] = error_of(lambda: disc(edge, 1))

    if item["session_check"]:
        z = inp["z"]
        extra = {"labels": inp["labels"]} if cond else {}
        r["session"] = session_errors(item["dir"], {
            "ok": ("serving_default", {"z": z, **extra}),
            "z_wrong_size": ("serving_default", {"z": np.zeros((NUM, L + 1), "float32"), **extra}),
            "z_wrong_dtype": ("serving_default", {"z": z.astype("float64"), **extra}),
            "num_over_max": ("generate", {"num": np.int32(m + 1), "seed": np.int64(0)}),
            "num_huge": ("generate", {"num": np.int32(2**31 - 1), "seed": np.int64(0)}),
            "num_not_scalar": ("generate", {"num": np.array([2], "int32"), "seed": np.int64(0)}),
            "seed_not_scalar": ("generate", {"num": np.int32(1), "seed": np.array([0, 1], "int64")}),
            "z_rank1": ("serving_default", {"z": np.zeros(m + L, "float32"),
                                            **({"labels": np.zeros(1, "int32")} if cond else {})}),
            "images_out_of_range": ("discriminate", {"images": np.full((1, *inp["images"].shape[1:]), 200, "float32"),
                                                     **({"labels": np.zeros(1, "int32")} if cond else {})}),
            "seed_wrong_dtype": ("generate", {"num": np.int32(1), "seed": np.float32(0)}),
            "images_wrong_shape": ("discriminate", {"images": np.zeros((2, 7, 7, 1), "float32"),
                                                    **({"labels": np.zeros(2, "int32")} if cond else {})}),
            **({"labels_mismatch": ("serving_default", {"z": z, "labels": np.zeros(NUM + 1, "int32")}),
                "labels_out_of_range": ("serving_default", {"z": z, "labels": np.full(NUM, 7, "int32")})}
               if cond else {}),
        })
    report[key] = r

print("REPORT=" + json.dumps(report))
'''


def _env():
    env = dict(os.environ)
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    return env


def _start(cmd):
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())


def _export_and_check(tmp_path_factory, keys):
    """Exports the variants `keys`, computes Keras references, then checks all exports
    in one fresh process (and `saved_model_cli` in parallel)."""
    root = tmp_path_factory.mktemp("serving")
    work = tmp_path_factory.mktemp("io")
    rng = np.random.default_rng(0)
    manifest, refs, gans = [], {}, {}
    for key in keys:
        name, overrides, max_num = VARIANTS[key]
        gan = tiny_model(name, **overrides)
        if gan.ema_generator is not None:  # make the EMA weights differ from the generator's
            gan.ema_generator.set_weights([w * 0.5 + 0.01 for w in gan.generator.get_weights()])
        path = export.export_saved_model(gan, root / key, max_num=max_num)
        cond = gan.num_classes is not None
        z = np.asarray(gan.latent(NUM, seed=7))
        labels = (np.arange(NUM) % gan.num_classes).astype("int32") if cond else None
        images = rng.uniform(-1, 1, size=(NUM, *gan.image_shape)).astype("float32")
        np.savez(work / f"{key}_in.npz", z=z, images=images, **({"labels": labels} if cond else {}))

        def call(net, x, labels=labels):
            x = tf.constant(x)
            return np.asarray(net(x if labels is None else [x, tf.constant(labels)], training=False))

        generated = gan.generate(NUM, seed=SEED)
        refs[key] = {
            "default_images": call(gan.sampling_generator, z),
            "raw_generator_images": call(gan.generator, z),
            "generate_images": generated,
            "generate_images_uint8": images_lib.to_uint8(generated),
            "logits": call(gan.discriminator, images),
            "labels": labels,
        }
        gans[key] = gan
        manifest.append({
            "key": key, "dir": str(path), "inputs": str(work / f"{key}_in.npz"),
            "outputs": str(work / f"{key}_out.npz"), "conditional": cond,
            "max_num": max_num, "session_check": key in SESSION_CHECKED,
        })
    (work / "manifest.json").write_text(json.dumps(manifest))
    cli = pathlib.Path(sys.executable).parent / "saved_model_cli"
    cli = str(cli) if cli.is_file() else shutil.which("saved_model_cli")
    assert cli, "saved_model_cli (installed with tensorflow) not found"
    procs = {k: _start([cli, "show", "--all", "--dir", str(root / k / "1")]) for k in CLI_CHECKED if k in keys}
    fresh = _start([sys.executable, "-c", FRESH_PROCESS, str(work / "manifest.json"), str(NUM), str(SEED)])
    try:
        out, err = fresh.communicate(timeout=300)
        assert fresh.returncode == 0, err[-3000:]
        report = json.loads(out.split("REPORT=", 1)[1])
        cli_out = {}
        for k, p in procs.items():
            text, cli_err = p.communicate(timeout=300)
            assert p.returncode == 0, cli_err[-3000:]
            cli_out[k] = text
    finally:
        for p in (fresh, *procs.values()):
            if p.poll() is None:
                p.kill()
                p.wait()
    outputs = {m["key"]: dict(np.load(m["outputs"])) for m in manifest}
    return {"root": root, "report": report, "outputs": outputs, "refs": refs, "gans": gans, "cli": cli_out}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    return _export_and_check(tmp_path_factory, FAST)


@pytest.fixture(scope="module")
def exported_slow(tmp_path_factory):
    return _export_and_check(tmp_path_factory, SLOW)


def expected_signatures(gan):
    """The documented signature table: {name: {"inputs"/"outputs": {key: (dtype, shape)}}}."""
    h, w, c = gan.image_shape
    cond = gan.num_classes is not None
    labels = {"labels": ("int32", [None])} if cond else {}
    return {
        "serving_default": {
            "inputs": {"z": ("float32", [None, gan.latent_dim]), **labels},
            "outputs": {"images": ("float32", [None, h, w, c])},
        },
        "generate": {
            "inputs": {"num": ("int32", []), "seed": ("int64", [])},
            "outputs": {
                "images": ("float32", [None, h, w, c]),
                "images_uint8": ("uint8", [None, h, w, c]),
                "png_bytes": ("string", [None]),
                **labels,
            },
        },
        "discriminate": {
            "inputs": {"images": ("float32", [None, h, w, c]), **labels},
            "outputs": {"logits": ("float32", [None, 1])},
        },
    }


@pytest.mark.parametrize("key", [*FAST, *(pytest.param(k, marks=pytest.mark.slow) for k in SLOW)])
def test_export_matches_keras_in_a_fresh_process(request, key):
    exported = request.getfixturevalue("exported" if key in FAST else "exported_slow")
    report, out, ref = exported["report"][key], exported["outputs"][key], exported["refs"][key]
    gan = exported["gans"][key]
    assert (exported["root"] / key / "1" / "saved_model.pb").is_file()
    # Documented signature names, dtypes and shapes.
    got = {
        name: {part: {k: tuple(v) for k, v in spec[part].items()} for part in ("inputs", "outputs")}
        for name, spec in report["signatures"].items()
    }
    assert got == expected_signatures(gan)
    # Every signature equals the Keras networks on the same inputs.
    assert np.max(np.abs(out["default_images"] - ref["default_images"])) < TOL
    assert np.max(np.abs(out["generate_images"] - ref["generate_images"])) < TOL
    assert np.max(np.abs(out["logits"] - ref["logits"])) < TOL
    assert out["default_images"].shape == (NUM, *gan.image_shape)
    assert np.abs(out["default_images"]).max() <= 1.0
    # uint8 images: equal up to rounding at the .5 boundary; PNGs decode to them.
    diff = np.abs(out["generate_images_uint8"].astype(int) - ref["generate_images_uint8"].astype(int))
    assert diff.max() <= 1 and diff.mean() < 1e-2
    np.testing.assert_array_equal(out["generate_png_decoded"], out["generate_images_uint8"])
    if gan.num_classes is not None:
        np.testing.assert_array_equal(out["generate_labels"], ref["labels"])
    assert report["generate_repeatable"] and report["generate_seed_matters"]


def test_ema_generator_is_exported(exported):
    ref, out = exported["refs"]["cond_ema"], exported["outputs"]["cond_ema"]
    assert np.max(np.abs(ref["default_images"] - ref["raw_generator_images"])) > 1e-3
    assert np.max(np.abs(out["default_images"] - ref["default_images"])) < TOL


def _parse_saved_model_cli(text):
    """{signature: {"inputs"/"outputs": {key: (dtype, shape)}, "method": str}} from `show --all`."""
    sigs = {}
    for block in re.split(r"\nsignature_def\['", text)[1:]:
        name = block.split("'", 1)[0]
        entry = {"inputs": {}, "outputs": {}}
        for part, key, dtype, shape in re.findall(
            r"(inputs|outputs)\['(\w+)'\] tensor_info:\s+dtype: (\w+)\s+shape: ([^\n]+)", block
        ):
            entry[part][key] = (dtype, shape.strip())
        method = re.search(r"Method name is: ([^\n]*)", block)
        entry["method"] = method.group(1).strip() if method else None
        sigs[name] = entry
    return sigs


@pytest.mark.parametrize("key", CLI_CHECKED)
def test_saved_model_cli_lists_the_documented_signatures(exported, key):
    gan = exported["gans"][key]
    sigs = _parse_saved_model_cli(exported["cli"][key])
    sigs.pop("__saved_model_init_op", None)
    assert set(sigs) == set(export.SIGNATURES)
    names = {"float32": "DT_FLOAT", "int32": "DT_INT32", "int64": "DT_INT64", "uint8": "DT_UINT8",
             "string": "DT_STRING"}

    def cli_shape(shape):
        return "(" + ", ".join("-1" if d is None else str(d) for d in shape) + ")" if shape else "()"

    for name, spec in expected_signatures(gan).items():
        assert sigs[name]["method"] == export.SIGNATURE_METHOD
        for part in ("inputs", "outputs"):
            want = {k: (names[d], cli_shape(s)) for k, (d, s) in spec[part].items()}
            assert sigs[name][part] == want, (name, part)


@pytest.mark.parametrize("key", ["cond_ema", "dcgan_mnist"])
def test_warmup_records_match_the_signatures(exported, key):
    report = exported["report"][key]
    gan = exported["gans"][key]
    expected = expected_signatures(gan)
    warm = report["warmup"]
    assert sorted(w["signature"] for w in warm) == sorted(export.SIGNATURES)
    for w in warm:
        assert w["kind"] == "predict_log" and w["model"] == key
        spec = expected[w["signature"]]["inputs"]
        assert set(w["inputs"]) == set(spec)
        for k, (dtype, shape) in w["inputs"].items():
            assert dtype == spec[k][0]
            assert len(shape) == len(spec[k][1])
            assert all(s is None or s == d for s, d in zip(spec[k][1], shape))
        assert w["error"] is None  # the server can replay it


# What each bad request must be refused with (a full match of ganzoo's assertion text):
# the input, what was expected, and what was received. `L` is the latent size, `m` max_num.
def expected_refusals(gan, max_num):
    L, (h, w, c) = gan.latent_dim, gan.image_shape
    z_shape = rf"z must have shape \(batch, latent_dim\) = \(batch, {L}\)\. Received: z of shape "
    images_shape = (rf"images must have shape \(batch, H, W, C\) = \(batch, {h}, {w}, {c}\)\. "
                    r"Received: images of shape ")
    out = {
        "z_rank1": z_shape + rf"\[{max_num + L}\]",
        "z_one_vector": z_shape + rf"\[{L}\]",
        "z_rank3": z_shape + rf"\[2, {L}, 1\]",
        "z_wrong_size": z_shape + rf"\[2, {L + 1}\]",
        "z_nan": rf"z must be finite \(no NaN or infinity\)\. Received: {2 * L} non-finite values in z",
        "z_batch_over_max": rf"z must hold 1 to max_num={max_num} items .*Received: z of shape \[{max_num + 1}, {L}\]",
        "num_zero": rf"num must be in \[1, max_num={max_num}\] .*Received: num=0",
        "num_over_max": rf"num must be in \[1, max_num={max_num}\] .*Received: num={max_num + 1}",
        "num_not_scalar": r"num must be a scalar \(one int32 number\)\. Received: num=\[2\]",
        "seed_not_scalar": r"seed must be a scalar \(one int64 number\)\. Received: seed=\[0 1\]",
        "images_out_of_range": r"images must be in \[-1, 1\] \(margin 0\.001.*\)\. Received: images in \[200, 200\]",
        "images_nan": rf"images must be finite .*Received: {h * w * c} non-finite values in images",
        "images_rank3": images_shape + rf"\[{h}, {w}, {c}\]",
        "images_wrong_shape": images_shape + rf"\[2, 5, 5, {c}\]",
    }
    if gan.num_classes is not None:
        k = gan.num_classes
        out.update({
            "labels_out_of_range": rf"labels must be class ids in \[0, {k}\)\. Received: labels in \[0, 99\]",
            "discriminate_labels_out_of_range": rf"labels must be class ids in \[0, {k}\)\. Received: labels in \[-1, 0\]",
            "labels_rank2": r"labels must have shape \(batch,\)\. Received: labels of shape \[2, 1\]",
            "labels_scalar": r"labels must have shape \(batch,\)\. Received: labels of shape \[\]",
            "labels_count": r"labels must hold one class id per item of z \(shape \[2, \d+\]\)\. "
                            r"Received: labels of shape \[3\]",
        })
    return out


@pytest.mark.parametrize("key", ["cond_ema", "dcgan_mnist"])
def test_bad_requests_fail_cleanly_and_the_process_survives(exported, key):
    report = exported["report"][key]
    gan, max_num = exported["gans"][key], VARIANTS[key][2]
    bad = report["bad"]
    # Every input of every signature is checked in the graph, shapes first: each bad request
    # fails with ganzoo's message naming the input, what was expected and what was received.
    expected = expected_refusals(gan, max_num)
    for case, pattern in expected.items():
        assert bad[case] is not None, case
        assert bad[case][0] == "InvalidArgumentError", (case, bad[case])
        assert re.fullmatch(pattern, bad[case][1]), (case, bad[case][1])
    assert report["margin_accepted"] is None  # [-1, 1] up to ganzoo.image_scale.MARGIN
    for case in ("num_negative", "num_huge"):
        assert bad[case][0] == "InvalidArgumentError", case
    # Wrong dtypes never reach the graph through the Python signatures.
    for case in ("num_wrong_dtype", "z_wrong_dtype"):
        assert bad[case][0] in ("TypeError", "ValueError", "InvalidArgumentError"), case
    assert report["alive_after_errors"]
    # Fed raw, as TF Serving feeds them, the graph itself rejects every bad request, with
    # the same messages.
    session = report["session"]
    assert session.pop("ok") is None
    assert session and all(v[0] == "InvalidArgumentError" for v in session.values()), session
    for case in ("z_rank1", "images_out_of_range", "seed_not_scalar", "num_not_scalar", "num_over_max"):
        assert re.fullmatch(expected[case], session[case][1]), (case, session[case][1])


def test_models_config_lists_every_export(exported, tmp_path):
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    root = exported["root"]
    path = export.write_models_config(root)
    assert path == root / "models.config"
    config = text_format.Parse(path.read_text(), model_server_config_pb2.ModelServerConfig())
    got = {c.name: (c.base_path, c.model_platform) for c in config.model_config_list.config}
    assert got == {k: (str((root / k).resolve()), "tensorflow") for k in FAST}
    other = export.write_models_config(root, names=["cond_ema"], path=tmp_path / "m.config",
                                       base_path="/models/")
    config = text_format.Parse(other.read_text(), model_server_config_pb2.ModelServerConfig())
    assert [(c.name, c.base_path) for c in config.model_config_list.config] == [("cond_ema", "/models/cond_ema")]
    with pytest.raises(ValueError, match=r"no exported version.*Received: "):
        export.write_models_config(root, names=["nothing_here"])
    with pytest.raises(ValueError, match=r"No exported model.*Received: "):
        export.write_models_config(tmp_path / "empty")


# --- versions and atomicity (fast: the write step is replaced) ------------------


def _fake_write(marker):
    def write(gan, directory, max_num, warmup, model_name):
        (pathlib.Path(directory) / "saved_model.pb").write_text(marker)
    return write


@pytest.fixture(scope="module")
def small_gan():
    return tiny_model("dcgan_mnist")


def test_versions_count_up_and_are_never_overwritten(small_gan, tmp_path, monkeypatch):
    model_dir = tmp_path / "m"
    monkeypatch.setattr(export, "_write_export", _fake_write("a"))
    assert export.export_saved_model(small_gan, model_dir) == model_dir / "1"
    assert export.export_saved_model(small_gan, model_dir).name == "2"
    (model_dir / "notes").mkdir()  # non-integer entries are ignored
    assert export.export_saved_model(small_gan, model_dir, version=7).name == "7"
    assert export.export_saved_model(small_gan, model_dir).name == "8"
    assert export.list_versions(model_dir) == [1, 2, 7, 8]
    with pytest.raises(FileExistsError, match=r"Version 7 .*Received: "):
        export.export_saved_model(small_gan, model_dir, version=7)
    monkeypatch.setattr(export, "_write_export", _fake_write("b"))
    assert export.export_saved_model(small_gan, model_dir, version=7, overwrite=True).name == "7"
    assert (model_dir / "7" / "saved_model.pb").read_text() == "b"
    assert (model_dir / "2" / "saved_model.pb").read_text() == "a"
    assert sorted(p.name for p in model_dir.iterdir()) == ["1", "2", "7", "8", "notes"]


def test_interrupted_export_leaves_no_version_behind(small_gan, tmp_path, monkeypatch):
    model_dir = tmp_path / "m"
    written = []

    def fail_after_the_saved_model(gan, directory, model_name):
        written.append((pathlib.Path(directory) / "saved_model.pb").is_file())
        raise OSError("disk full")

    monkeypatch.setattr(export, "_write_warmup", fail_after_the_saved_model)
    with pytest.raises(OSError, match="disk full"):
        export.export_saved_model(small_gan, model_dir)
    assert written == [True]  # the real SavedModel was written, then thrown away
    assert list(model_dir.iterdir()) == []
    # An interrupted overwrite keeps the old version.
    monkeypatch.setattr(export, "_write_export", _fake_write("old"))
    export.export_saved_model(small_gan, model_dir, version=3)

    def interrupted(gan, directory, max_num, warmup, model_name):
        (pathlib.Path(directory) / "saved_model.pb").write_text("partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(export, "_write_export", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export.export_saved_model(small_gan, model_dir, version=3, overwrite=True)
    assert [p.name for p in model_dir.iterdir()] == ["3"]
    assert (model_dir / "3" / "saved_model.pb").read_text() == "old"


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"gan": "not a gan"}, ValueError),
        ({"version": 0}, ValueError),
        ({"version": "1"}, ValueError),
        ({"version": True}, ValueError),
        ({"max_num": 0}, ValueError),
        ({"max_num": 2**31}, ValueError),
        ({"base_dir": "-bad name"}, ValueError),
        ({"base_dir": "a_file"}, FileExistsError),
    ],
)
def test_bad_arguments_are_refused_before_any_work(small_gan, tmp_path, monkeypatch, kwargs, error):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a_file").write_text("")
    monkeypatch.setattr(export, "_write_export", None)  # never reached
    kwargs = {"gan": small_gan, "base_dir": tmp_path / "m", **kwargs}
    with pytest.raises(error, match=r"Received: "):
        export.export_saved_model(**kwargs)
    assert not (tmp_path / "m").exists()


def test_missing_serving_api_gives_a_clear_error(small_gan, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow_serving.apis", None)
    with pytest.raises(ValueError, match=r"pip install 'tensorflow-serving-api.*Received: "):
        export.export_saved_model(small_gan, tmp_path / "m")
    assert not (tmp_path / "m").exists()


# --- command line ------------------------------------------------------------


def test_cli_exports_a_run_and_writes_models_config(small_gan, tmp_path, capsys):
    run_dir = tmp_path / "runs" / "my_run"
    run_dir.mkdir(parents=True)
    small_gan.save(run_dir / "final.keras")
    out = tmp_path / "serving"
    assert cli_main(["export", str(run_dir), "--out", str(out), "--max-num", "16", "--models-config"]) == 0
    assert (out / "my_run" / "1" / "saved_model.pb").is_file()
    assert (out / "my_run" / "1" / export.WARMUP_FILE).is_file()
    assert 'name: "my_run"' in (out / "models.config").read_text()
    assert "version 1" in capsys.readouterr().out
    # An existing version is refused before the model is loaded.
    assert cli_main(["export", str(run_dir), "--out", str(out), "--version", "1"]) == 2
    assert "exists" in capsys.readouterr().err
    # --models-config alone rewrites the config; options that need a SOURCE are refused.
    assert cli_main(["export", "--out", str(out), "--models-config", "--config-base-path", "/models"]) == 0
    assert 'base_path: "/models/my_run"' in (out / "models.config").read_text()
    assert cli_main(["export", "--out", str(out), "--models-config", "--version", "2"]) == 2
    assert cli_main(["export", "--out", str(out)]) == 2
    assert "Received: neither" in capsys.readouterr().err


def test_cli_pretrained_passes_through_to_load_gan(tmp_path, capsys):
    # a zoo entry with shipped weights exports them ...
    assert cli_main(["export", "dcgan_mnist", "--out", str(tmp_path), "--pretrained"]) == 0
    assert (tmp_path / "dcgan_mnist" / "1" / "saved_model.pb").is_file()
    # ... and serves what the pretrained model makes: `generate` (num, seed) equals
    # gan.generate(num, seed), through the EMA generator the entry ships, for the same seeds.
    gan = ganzoo.create_model("dcgan_mnist", pretrained=True)
    assert gan.ema_generator is not None
    served = tf.saved_model.load(str(tmp_path / "dcgan_mnist" / "1")).signatures
    for num, seed in ((5, 3), (2, 12345)):
        out = served["generate"](num=tf.constant(num, tf.int32), seed=tf.constant(seed, tf.int64))
        expected = gan.generate(num, seed=seed)
        assert out["images"].shape == (num, 28, 28, 1)
        np.testing.assert_allclose(out["images"].numpy(), expected, rtol=0, atol=1e-5)
        uint8 = out["images_uint8"].numpy().astype(int) - images_lib.to_uint8(expected).astype(int)
        assert np.abs(uint8).max() <= 1  # equal up to rounding at the .5 boundary
    z = gan.latent(4, seed=9)
    np.testing.assert_allclose(served["serving_default"](z=z)["images"].numpy(),
                               gan.generate(4, seed=9), rtol=0, atol=1e-5)
    # ... one without weights is refused with a clear error, and nothing is written
    assert cli_main(["export", "dcgan_cifar10", "--out", str(tmp_path), "--pretrained"]) == 2
    err = capsys.readouterr().err
    assert "No pretrained weights for 'dcgan_cifar10'" in err and "Received: " in err
    assert not (tmp_path / "dcgan_cifar10").exists()


def test_the_pretrained_conditional_entry_serves_the_requested_classes(tmp_path):
    import ganzoo
    from ganzoo.metrics import get_extractor

    gan = ganzoo.create_model("sngan_projection_mnist", pretrained=True)
    path = export.export_saved_model(gan, tmp_path / "serving", warmup=False)
    served = tf.saved_model.load(str(path)).signatures
    labels = np.full(32, 3, "int32")
    z = gan.latent(32, seed=5)
    images = served["serving_default"](z=z, labels=tf.constant(labels))["images"].numpy()
    np.testing.assert_allclose(images, gan.generate(32, seed=5, labels=labels), atol=1e-5)
    _, probs = get_extractor("mnist_5k_classifier")(images, True)
    assert (probs.argmax(axis=1) == 3).mean() >= 0.9  # the classifier sees threes
    out = served["generate"](num=tf.constant(20), seed=tf.constant(0, tf.int64))
    np.testing.assert_array_equal(out["labels"].numpy(), np.arange(20) % 10)
    # `generate` makes exactly the pretrained model's gan.generate(num, seed) (default labels);
    # seed 7, not 0: seeds [0, 0] and [seed, 0] would agree even with the halves swapped.
    out = served["generate"](num=tf.constant(20), seed=tf.constant(7, tf.int64))
    np.testing.assert_allclose(out["images"].numpy(), gan.generate(20, seed=7), rtol=0, atol=1e-5)
