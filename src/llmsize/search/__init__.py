"""From candidate deployments to a plan: the steady-state search (`steady`: limits, ranking,
server counts) and the simulated search (`simulated`: the digital twin replays the best
candidates to the fewest servers whose percentiles hold). Both start from the one enumeration of
candidates in perf/candidates.py."""

from llmsize.search.steady import (
    PlanResult,
    Rejection,
    ServerPlan,
    broken_limits,
    frontier,
    pick_optimal,
    plan,
    servers_needed,
)

__all__ = [
    "PlanResult",
    "Rejection",
    "ServerPlan",
    "broken_limits",
    "frontier",
    "pick_optimal",
    "plan",
    "servers_needed",
]
