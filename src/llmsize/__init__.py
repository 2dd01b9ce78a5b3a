"""llmsize: how many GPU servers, configured how, serve an LLM use case within its latency limit.

The library's questions are importable from here (`llmsize.plan`, `llmsize.estimate`,
`llmsize.configs`, `llmsize.capacity`, `llmsize.simulate`, `llmsize.calibrate`, ...): the names
of `llmsize.api`, which load on first use, so `import llmsize` (and `llmsize --help`) stays
instant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llmsize import api as _api  # light: each question's module loads on first use

__version__ = "0.1.0"

__all__ = ["__version__", *_api.__all__]

if TYPE_CHECKING:
    from llmsize.api import (
        ApiPrice as ApiPrice,
    )
    from llmsize.api import (
        PerfOptions as PerfOptions,
    )
    from llmsize.api import (
        accuracy as accuracy,
    )
    from llmsize.api import (
        api_prices as api_prices,
    )
    from llmsize.api import (
        bench as bench,
    )
    from llmsize.api import (
        calibrate as calibrate,
    )
    from llmsize.api import (
        capacity as capacity,
    )
    from llmsize.api import (
        configs as configs,
    )
    from llmsize.api import (
        configs_disaggregated as configs_disaggregated,
    )
    from llmsize.api import (
        estimate as estimate,
    )
    from llmsize.api import (
        estimate_disaggregated as estimate_disaggregated,
    )
    from llmsize.api import (
        load_usecase as load_usecase,
    )
    from llmsize.api import (
        parse_usecase as parse_usecase,
    )
    from llmsize.api import (
        peak_from_average as peak_from_average,
    )
    from llmsize.api import (
        plan as plan,
    )
    from llmsize.api import (
        show as show,
    )
    from llmsize.api import (
        simulate as simulate,
    )
    from llmsize.api import (
        sustainable_average as sustainable_average,
    )
    from llmsize.api import (
        validate as validate,
    )


def __getattr__(name: str) -> Any:
    """The library facade, loaded when a name is first asked for."""
    if name in _api.__all__:
        return getattr(_api, name)
    raise AttributeError(f"module 'llmsize' has no attribute {name!r}")
