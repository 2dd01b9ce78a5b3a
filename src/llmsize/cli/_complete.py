"""Shell completion of catalog ids for --model, --gpu and --server (loaded only when completing)."""


def _ids(kind: str, incomplete: str) -> list[str]:
    from llmsize.catalog import load_catalog

    table = getattr(load_catalog(), kind)
    return [i for i in table.ids if i.startswith(incomplete.lower())]


def models(incomplete: str) -> list[str]:
    return _ids("models", incomplete)


def gpus(incomplete: str) -> list[str]:
    return _ids("gpus", incomplete)


def servers(incomplete: str) -> list[str]:
    return _ids("servers", incomplete)
