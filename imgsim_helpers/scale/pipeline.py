"""Embed a folder of images with Ray Data, into a Parquet table an index is built from.

The same code runs on a laptop (a local Ray instance) and on a cluster (workers need this
package and the images at the same paths). Each actor loads the model once; the driver streams
the rows into one Parquet file (:data:`COLUMNS`; ``hash`` a 64-bit pHash in hex) whose metadata
names the method, dimension and weights. A bad file is a row with its error; a rerun embeds
only what is missing.

>>> import imgsim_helpers as h
>>> from imgsim_helpers.registry import build_method
>>> columns = embed_paths(build_method("mobilenet_v2", device="cpu"), [h.course_path("coffee"), "missing.png"])
>>> columns["embedding"].shape, str(columns["error"][0]), "missing.png" in columns["error"][1]
((2, 1280), '', True)
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imgsim_helpers.core.checks import check_int
from imgsim_helpers.core.errors import (
    DeviceUnavailableError,
    EmbeddingMismatchError,
    EmptyInputError,
    ImageNotFoundError,
    ImgSimError,
    IndexFormatError,
    InvalidParameterError,
)
from imgsim_helpers.registry import first_line

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
COLUMNS = ("path", "embedding", "hash", "width", "height", "file_bytes", "error")
META_PREFIX = "imgsim."
HASH_NAME = "phash"


@dataclass
class EmbedReport:
    """What :func:`embed_folder` did: image files found, rows embedded and failed in this run, good
    rows kept from an earlier one, seconds from the first batch to the file written."""

    out: Path
    method: str
    dimension: int
    weights: str
    files: int
    embedded: int
    failed: int
    kept: int
    seconds: float
    workers: int
    address: str  # "local" or the cluster address

    @property
    def images_per_second(self) -> float:
        return (self.embedded + self.failed) / self.seconds if self.seconds > 0 else 0.0


# --------------------------------------------------------------------------- one batch (runs in each actor)


def phash_hex(image: np.ndarray) -> str:
    """ImageHash's 64-bit pHash as 16 hex digits (the bits in order, as ``str(imagehash.phash(...))``)."""
    from imgsim_helpers.metrics.hashing import image_hash
    return np.packbits(image_hash(image, HASH_NAME)).tobytes().hex()


def _load_batch(paths: list[str], columns: dict) -> tuple[list, list[int]]:
    """Read and hash each file into ``columns``; return the images and their rows (failures get an error)."""
    from imgsim_helpers.images.io import load_image
    images, good = [], []
    for row, path in enumerate(paths):
        try:
            columns["file_bytes"][row] = os.stat(path).st_size
            image = load_image(path)
            columns["height"][row], columns["width"][row] = image.shape[:2]
            columns["hash"][row] = phash_hex(image)
        except Exception as error:  # noqa: BLE001 - one file must not end the run; it becomes a row
            columns["error"][row] = (str(error) if isinstance(error, ImgSimError)
                                     else f"{type(error).__name__}: {first_line(error)}")
            continue
        images.append(image)
        good.append(row)
    return images, good


def _embed_batch(method, images: list, good: list[int], columns: dict, dimension: int | None) -> np.ndarray:
    """The batch's N×D embeddings, zero where a row failed (its error and hash set in ``columns``)."""
    vectors, failures = method.features_or_none(images) if images else ([], [])
    for slot, error in failures:
        row = good[slot]
        columns["error"][row] = f"cannot embed {columns['path'][row]!r} with {method.name}: {first_line(error)}"
        columns["hash"][row] = ""
    done = [(row, np.asarray(v, np.float32)) for row, v in zip(good, vectors, strict=True) if v is not None]
    width = done[0][1].shape[-1] if done else dimension or 0
    embeddings = np.zeros((len(columns["path"]), width), np.float32)
    for row, vector in done:
        embeddings[row] = vector
    return embeddings


def embed_paths(method, paths: Sequence, *, dimension: int | None = None) -> dict[str, np.ndarray]:
    """The table's columns for a batch of image files; a file that fails is a row with a zero
    embedding, an empty hash and its ``error``. ``dimension`` sizes the embedding column of a
    batch in which every file failed."""
    paths = [str(p) for p in paths]
    n = len(paths)
    columns = {"path": paths, "hash": [""] * n, "width": np.zeros(n, np.int32), "height": np.zeros(n, np.int32),
               "file_bytes": np.zeros(n, np.int64), "error": [""] * n}
    images, good = _load_batch(paths, columns)
    columns["embedding"] = _embed_batch(method, images, good, columns, dimension)
    for key in ("path", "hash", "error"):
        columns[key] = np.array(columns[key], dtype=str)
    return columns


def _probe_dimension(method) -> int:
    return int(np.asarray(method.extract(np.zeros((32, 32, 3), np.uint8))).shape[-1])


class _EmbedActor:
    """A Ray Data actor: loads the model once, then embeds every batch it is given."""

    def __init__(self, method: str, device: str):
        import torch

        from imgsim_helpers.registry import build_method
        torch.set_num_threads(1)  # one CPU per actor (Ray reserves it): the pool, not the threads, scales
        self.method = build_method(method, device=device)
        self.dimension = _probe_dimension(self.method)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return embed_paths(self.method, batch["path"], dimension=self.dimension)


# --------------------------------------------------------------------------- the table


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files under ``folder`` (recursively, by suffix), sorted, as absolute paths."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise ImageNotFoundError(f"no folder at {str(folder)!r}; pass a folder of images")
    paths = sorted(p.resolve() for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not paths:
        raise EmptyInputError(f"no image files in {str(folder)!r} (looked for {', '.join(IMAGE_SUFFIXES)}, "
                              "in subfolders too)")
    return paths


def _schema(method: str, dimension: int, weights: str):
    import pyarrow as pa
    return pa.schema(
        [("path", pa.string()), ("embedding", pa.list_(pa.float32(), dimension)), ("hash", pa.string()),
         ("width", pa.int32()), ("height", pa.int32()), ("file_bytes", pa.int64()), ("error", pa.string())],
        metadata={f"{META_PREFIX}method": method, f"{META_PREFIX}dimension": str(dimension),
                  f"{META_PREFIX}weights": weights, f"{META_PREFIX}hash": HASH_NAME})


def _to_arrow(columns: dict, schema):
    import pyarrow as pa
    dimension = schema.field("embedding").type.list_size
    failed = np.array([bool(e) for e in columns["error"]])
    embeddings = np.asarray(columns["embedding"], np.float32)
    if embeddings.shape[1] != dimension:
        if not failed.all():
            raise EmbeddingMismatchError(
                f"the workers returned {embeddings.shape[1]}-dimensional vectors, the table holds "
                f"{dimension}-dimensional ones: the cluster's workers run another model or version")
        embeddings = np.zeros((len(failed), dimension), np.float32)
    flat = pa.array(embeddings.ravel(), pa.float32())
    vectors = pa.FixedSizeListArray.from_arrays(flat, dimension, mask=pa.array(failed))

    def text(values, null_if):
        return pa.array([None if null_if[i] else str(v) for i, v in enumerate(values)], pa.string())

    return pa.Table.from_arrays(
        [pa.array([str(p) for p in columns["path"]], pa.string()), vectors, text(columns["hash"], failed),
         pa.array(columns["width"], pa.int32()), pa.array(columns["height"], pa.int32()),
         pa.array(columns["file_bytes"], pa.int64()), text(columns["error"], ~failed)],
        schema=schema)


def table_info(path: str | os.PathLike) -> dict:
    """The method, dimension, weights and row count of an embeddings table (from its footer only)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    path = Path(path)
    if not path.is_file():
        raise ImageNotFoundError(f"no embeddings table at {str(path)!r}; make one with `imgsim embed FOLDER --out {path}`")
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as error:
        raise IndexFormatError(f"{str(path)!r} is not a Parquet file: {first_line(error)}") from None
    schema = parquet.schema_arrow
    meta = {k.decode(): v.decode() for k, v in (schema.metadata or {}).items() if k.decode().startswith(META_PREFIX)}
    missing = [c for c in COLUMNS if c not in schema.names]
    if missing or f"{META_PREFIX}method" not in meta:
        raise IndexFormatError(
            f"{str(path)!r} is not an imgsim embeddings table (missing "
            f"{', '.join(missing) if missing else 'the method in its metadata'}); make it with `imgsim embed`")
    dimension = int(meta.get(f"{META_PREFIX}dimension", -1))
    column = schema.field("embedding").type
    if getattr(column, "list_size", None) != dimension:
        raise EmbeddingMismatchError(
            f"{str(path)!r} says its vectors have {dimension} dimensions but its embedding column is {column}; "
            "the file was edited or written by another tool: embed the folder again")
    return {"path": str(path), "method": meta[f"{META_PREFIX}method"], "dimension": dimension,
            "weights": meta.get(f"{META_PREFIX}weights", ""), "rows": parquet.metadata.num_rows}


def load_embeddings(tables, *, method: str | None = None) -> dict:
    """The good rows of one or more embeddings tables (all of one method): vectors, paths,
    hashes, method, dimension, weights."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    paths = [tables] if isinstance(tables, str | os.PathLike) else list(tables)
    if not paths:
        raise EmptyInputError("no embeddings table given")
    infos = [table_info(p) for p in paths]
    kinds = {(i["method"], i["dimension"]) for i in infos}
    if len(kinds) > 1:
        listed = "; ".join(f"{i['path']}: {i['method']} ({i['dimension']}-d)" for i in infos)
        raise EmbeddingMismatchError(f"the tables hold vectors of different methods or dimensions ({listed}); "
                                     "an index holds one kind: build one per method")
    found, dimension = next(iter(kinds))
    if method is not None and method != found:
        raise EmbeddingMismatchError(f"the tables hold {found!r} vectors, not {method!r}")
    vectors, names, hashes = [], [], []
    for info in infos:
        table = pq.read_table(info["path"], columns=["path", "embedding", "hash", "error"])
        table = table.filter(pc.is_null(table["error"]))
        names += table["path"].to_pylist()
        hashes += table["hash"].to_pylist()
        flat = table["embedding"].combine_chunks().flatten().to_numpy(zero_copy_only=False)
        vectors.append(np.asarray(flat, np.float32).reshape(-1, dimension))
    if not names:
        raise EmptyInputError(f"no row of {', '.join(map(str, paths))} has an embedding (every file failed)")
    return {"vectors": np.concatenate(vectors), "paths": names, "hashes": hashes, "method": found,
            "dimension": dimension, "weights": infos[0]["weights"], "tables": [i["path"] for i in infos]}


def build_index_from_tables(tables, kind: str = "hnsw", **knobs):
    """An index over the good rows of embeddings tables, labelled by path; the binary kinds
    index the tables' pHash column instead of the embeddings."""
    from imgsim_helpers.scale.index import BINARY_KINDS, build_hash_index, build_index
    data = load_embeddings(tables)
    extra = {"weights": data["weights"], "tables": data["tables"], "embedding_method": data["method"]}
    if kind in BINARY_KINDS:
        index = build_hash_index(data["hashes"], kind, ids=data["paths"], method=HASH_NAME, **knobs)
    else:
        index = build_index(data["vectors"], kind, ids=data["paths"], method=data["method"], **knobs)
    index.extra.update(extra)
    return index


# --------------------------------------------------------------------------- Ray


def start_ray(*, address: str | None = None, num_cpus: int | None = None, verbose: bool = False,
              object_store_mb: int | None = None) -> bool:
    """Start (or join) Ray quietly unless it is running already; return whether this call started it.

    Without ``address`` a new local instance starts (never a cluster another process left
    running) on ``num_cpus`` cores; Ray's logs stay at ERROR unless ``verbose``.
    """
    if address:
        _send_token_if_any()  # before Ray is imported: it reads its authentication mode then
    import ray
    if ray.is_initialized():
        return False
    num_cpus = None if num_cpus is None else check_int(num_cpus, "num_cpus", low=1)
    object_store_mb = None if object_store_mb is None else check_int(object_store_mb, "object_store_mb", low=1)
    quiet = {"logging_level": logging.WARNING if verbose else logging.ERROR, "log_to_driver": verbose}
    if address:  # the cluster's own settings (dashboard, CPUs, object store) stay as its operator chose
        try:
            ray.init(address=address, **quiet)
        except ConnectionError as error:
            raise InvalidParameterError(
                f"cannot join the Ray cluster at {address!r}: {first_line(error)}. Check the address "
                "(`ray status` on the head node prints it), that this machine can reach it, and, on a "
                "cluster with token authentication, that this machine has its token") from None
    else:
        memory = {"object_store_memory": object_store_mb * 2**20} if object_store_mb else {}
        ray.init(address="local", num_cpus=num_cpus or os.cpu_count(), include_dashboard=False, **quiet, **memory)
    return True


def _send_token_if_any() -> None:
    """Clusters started with ``ray start`` (Ray >= 2.5x) require the token of ~/.ray/auth_token,
    but a client sends it only in token mode; a token-mode client also joins clusters without
    authentication, so the mode is switched on whenever this machine holds a token."""
    token_path = os.environ.get("RAY_AUTH_TOKEN_PATH") or os.path.expanduser("~/.ray/auth_token")
    if "RAY_AUTH_MODE" not in os.environ and (os.environ.get("RAY_AUTH_TOKEN") or os.path.isfile(token_path)):
        os.environ["RAY_AUTH_MODE"] = "token"


def _quiet_ray_data(verbose: bool) -> None:
    import ray.data
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = verbose  # ours (one bar over the files) is shown instead
    context.print_on_execution_start = verbose
    logging.getLogger("ray.data").setLevel(logging.INFO if verbose else logging.ERROR)


def _actor_options(device: str, workers: int | None) -> tuple[int, dict]:
    """How many actors, and the resources of each."""
    import ray
    resources = ray.cluster_resources()
    if device != "cuda":
        return workers or max(1, int(resources.get("CPU", 1))), {"num_cpus": 1}
    gpus = int(resources.get("GPU", 0))
    if gpus < 1:
        raise DeviceUnavailableError("device 'cuda' was asked for but the Ray cluster has no GPU; use --device cpu")
    return workers or gpus, {"num_gpus": 1, "num_cpus": 1}


def _actor_pool(todo: list[str], method: str, device: str, workers: int, batch_size: int, options: dict):
    """The dataset of embedded rows: ``todo`` through a pool of ``workers`` :class:`_EmbedActor`."""
    import warnings

    import ray
    import ray.data
    if len(ray.nodes()) <= 1:
        # One machine: an actor lost there would not come back by restarting it, and a
        # restartable actor makes Ray print an error line about its arguments on every run.
        # max_restarts has no named parameter yet, so it goes through the deprecated **kwargs.
        options = {**options, "max_restarts": 0}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "`ray_remote_args` is deprecated")
        return ray.data.from_items([{"path": p} for p in todo]).map_batches(
            _EmbedActor, fn_constructor_kwargs={"method": method, "device": device}, batch_size=batch_size,
            batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=min(workers, len(todo))), **options)


def _build_checked(method: str, device: str):
    from imgsim_helpers.registry import build_method, options_for
    built = build_method(method, **options_for(method, device=device))
    if built.family != "embedding":
        raise InvalidParameterError(
            f"--method {method} gives {built.family} features, not one embedding vector per image; "
            "choose an embedding method: mobilenet_v2, vgg16 or clip")
    return built, _probe_dimension(built)


def _earlier_rows(out: Path, method: str, dimension: int, weights: str) -> set[str]:
    """The paths ``out`` already holds a good row for; refuse a table of another method or model."""
    import pyarrow.parquet as pq
    if not out.exists():
        return set()
    info = table_info(out)
    if (info["method"], info["dimension"], info["weights"]) != (method, dimension, weights):
        raise EmbeddingMismatchError(
            f"{str(out)!r} holds {info['method']} vectors ({info['dimension']}-d, {info['weights']} weights); "
            f"this run makes {method} vectors ({dimension}-d, {weights} weights). Write them to another "
            "--out, or delete the old table")
    good = pq.read_table(out, columns=["path", "error"])
    return {p for p, e in zip(good["path"].to_pylist(), good["error"].to_pylist(), strict=True) if e is None}


def _copy_good_rows(out: Path, writer, schema) -> None:
    """The earlier run's good rows, one row group at a time; its failed rows are redone."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    old = pq.ParquetFile(out)
    for group in range(old.num_row_groups):
        table = old.read_row_group(group).cast(schema)
        writer.write_table(table.filter(pc.is_null(table["error"])))


def _stream_embeddings(todo: list[str], writer, schema, report: EmbedReport, *, device: str, workers: int | None,
                       batch_size: int, progress: bool) -> None:
    """Run the actor pool over ``todo`` and append its rows to ``writer``, counting them in ``report``."""
    from tqdm.auto import tqdm
    report.workers, options = _actor_options(device, workers)
    dataset = _actor_pool(todo, report.method, device, report.workers, batch_size, options)
    with tqdm(total=len(todo), desc=f"embedding ({report.method})", unit="img", disable=not progress) as bar:
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            table = _to_arrow(batch, schema)
            writer.write_table(table)
            bad = sum(1 for e in batch["error"] if e)
            report.failed += bad
            report.embedded += len(table) - bad
            bar.update(len(table))


def embed_folder(folder: str | os.PathLike, out: str | os.PathLike, *, method: str = "mobilenet_v2",
                 batch_size: int = 32, address: str | None = None, device: str = "auto", workers: int | None = None,
                 num_cpus: int | None = None, progress: bool = True, verbose: bool = False) -> EmbedReport:
    """Embed every image under ``folder`` (recursively) into the Parquet table ``out`` with Ray Data.

    An existing ``out`` keeps its good rows (it must hold the same method and weights) and only
    the other files are embedded. ``address`` joins a running cluster (``"auto"``,
    ``"ray://head:10001"``); ``device="cuda"`` gives each actor a GPU; ``workers`` actors
    (default one per CPU or GPU). Missing weights raise before Ray starts.
    """
    if address:
        _send_token_if_any()  # before Ray is imported: it reads its authentication mode then
    import pyarrow.parquet as pq
    import ray

    from imgsim_helpers.core.device import check_device, resolve_device
    batch_size = check_int(batch_size, "batch_size", low=1)
    workers = None if workers is None else check_int(workers, "workers", low=1)
    files, out = list_images(folder), Path(out)
    device = check_device(device)
    device = "cuda" if device == "cuda" else resolve_device(device)
    built, dimension = _build_checked(method, "cpu" if device == "cuda" else device)
    schema = _schema(method, dimension, built.weights)
    done = _earlier_rows(out, method, dimension, built.weights)
    todo = [str(p) for p in files if str(p) not in done]
    report = EmbedReport(out=out, method=method, dimension=dimension, weights=built.weights, files=len(files),
                         embedded=0, failed=0, kept=len(done), seconds=0.0, workers=0, address=address or "local")
    del built  # the driver's copy only checked the weights and the dimension; the actors load their own
    if not todo:
        return report
    partial = out.with_name(out.name + ".partial")
    started = start_ray(address=address, num_cpus=num_cpus, verbose=verbose)
    _quiet_ray_data(verbose)
    start = time.perf_counter()
    complete_old = False  # the partial file may replace `out` only once it holds every old good row
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with pq.ParquetWriter(partial, schema) as writer:
            if done:
                _copy_good_rows(out, writer, schema)
            complete_old = True
            _stream_embeddings(todo, writer, schema, report, device=device, workers=workers, batch_size=batch_size,
                               progress=progress)
    finally:
        # The rows written so far are a valid table (the writer closed it): keep them, so that a
        # rerun after an interruption starts where this one stopped.
        if partial.exists():
            if complete_old:
                os.replace(partial, out)
            else:
                partial.unlink()
        if started:
            ray.shutdown()
        report.seconds = time.perf_counter() - start
    return report
