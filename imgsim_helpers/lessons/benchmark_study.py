"""What notebooks 06 and 08 add to the retrieval benchmark: a network's forward-pass cost and
the best method per transform family; the library itself needs neither."""

from __future__ import annotations

from imgsim_helpers.apps.retrieval import recall_table
from imgsim_helpers.core.errors import EmptyInputError


def forward_flops(model) -> int:
    """Floating-point operations of one forward pass of an embedding model on one image.

    Counted by torch's ``FlopCounterMode`` on one preprocessed input (a multiply-add is 2),
    so the number is the same on every machine and for any weights.

    >>> import torch
    >>> from imgsim_helpers.learned.embeddings import EmbeddingModel, Preprocess
    >>> linear = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 4, 2))
    >>> toy = EmbeddingModel("toy", "cnn", linear, Preprocess(size=4, crop=4), None, "cpu", "random", 2)
    >>> forward_flops(toy)
    192
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    crop = model.preprocess.crop
    x = torch.zeros(1, 3, crop, crop, device=model.device)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model.image_features(x)
    return int(counter.get_total_flops())


def best_per_family(rows: list[dict]) -> dict[str, list[str]]:
    """For each family, the method(s) with the highest recall@1 (all of them when tied).

    >>> rows = [dict(method=m, family="blur", status="ok", recall_at_1=r) for m, r in [("a", 0.5), ("b", 0.9)]]
    >>> best_per_family(rows)
    {'blur': ['b']}
    """
    methods, families, table = recall_table(rows)
    if not methods:
        raise EmptyInputError("no method ran, so there is no best method")
    return {f: [m for m, v in zip(methods, table[:, j], strict=True) if v == table[:, j].max()]
            for j, f in enumerate(families)}
