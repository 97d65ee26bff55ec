"""The student search on Ray: ``finlite search --engine ray [--address ADDR]`` (or ``finlite compress --search``).

Each distilled student and the candidates built on it (pruning, weight format) is one Ray task
running :func:`finlite.recipe.search.student_candidates`, the very function the serial search runs in
its loop, with the same seeded order of candidates, the same training settings and the same
torch thread count, so every candidate comes back with the metrics the serial search would have
measured. Latency is the one thing that depends on where it is measured: tasks running side by
side on one machine would slow each other's timings. So the tasks measure none (unless a gate
needs it), and the driver times every candidate that passed afterwards, in this one process, one
after another (:func:`finlite.export.timing.deployed_latency`, one round): the front is built from
measurements taken in one place under the same conditions.

This module imports torch (it trains students); the torch-free scoring engine is
:mod:`finlite.runtime.ray_engine`, which also provides the Ray connection used here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["search_on_ray"]


def _group(hidden: tuple[int, ...], temperature: float, bins: int, order: list[tuple[float, int]], prepared: Any,
           teacher: Any, common: dict[str, Any], gates: Any, config: Any, fine_tune: Any, deadline: float,
           timing: bool, threads: int, bins_from: Any, own: dict[str, Any],
           code: str | None = None) -> tuple[list[dict[str, Any]], list[Any]]:
    """One Ray task: a student and its candidates, as the serial loop computes them, by the
    driver's finlite code (``code``, :func:`~finlite.runtime.ray_engine.driver_code`) or none (:func:`~finlite.runtime.ray_engine.check_worker_code`)."""
    import torch

    from finlite.recipe.search import student_candidates
    from finlite.runtime.ray_engine import check_worker_code

    check_worker_code(code)

    # Ray sets OMP_NUM_THREADS to the task's CPUs; the driver's count keeps every floating-point
    # reduction in the same order as the serial search's, so the metrics match.
    torch.set_num_threads(threads)
    return student_candidates(hidden, temperature, order, prepared=prepared, teacher=teacher, gates=gates,
                              config=config, fine_tune=fine_tune, common=common, deadline=deadline,
                              timing=timing, keep_models=True, input_bins=bins, input_bins_from=bins_from,
                              distill_overrides=own)


def search_on_ray(students: list[tuple[tuple[int, ...], float, int]], orders: list[list[tuple[float, int]]],
                  job: dict[str, Any], *, overrides: list[dict[str, Any]] | None = None, timing: bool = True,
                  address: str | None = None,
                  on_candidates: Callable[[int], Any] | None = None) -> tuple[list[dict[str, Any]], list[Any]]:
    """Run the search's students as Ray tasks; the candidate records, in the serial search's order,
    and beside each the result (model and step records) of a candidate that passed (None for the others).

    A student is (hidden widths, temperature, input bins); beside each, in ``overrides`` (default
    none), its distillation step's training overrides (:func:`finlite.recipe.search.distill_train`). ``job`` holds what
    :func:`finlite.recipe.search.student_candidates` takes besides the student (prepared data,
    teacher, gates, training settings, common recipe arguments, deadline, where bins' edges come from).
    With ``timing``, the candidates that passed are timed here afterwards, side by side.

    Raises:
        ConfigError: Ray is not installed, or the cluster cannot be reached.
        FinliteError: whatever a task raised (unwrapped from Ray's RayTaskError).
    """
    import torch

    from finlite.runtime.ray_engine import (
        _finlite_cause,
        connect,
        driver_code,
        keep_signal_handlers,
        ready_cluster,
        require_ray,
    )

    ray = require_ray()
    owned = connect(address)
    futures: list[Any] = []
    try:
        ready_cluster(ray, address, owned)  # no CPU: no task would ever be placed, the search waited past its budget
        # Each task trains with this process's torch thread count (the same reductions in the
        # same order as the serial search, hence the same metrics) and reserves that many CPUs,
        # so tasks never share cores. Run with OMP_NUM_THREADS=1 for one task per core.
        threads = torch.get_num_threads()
        widest = max((int(n["Resources"].get("CPU", 0)) for n in ray.nodes() if n.get("Alive")), default=1)
        task = ray.remote(num_cpus=max(1, min(threads, widest)), max_retries=0)(_group)
        # Large inputs go to the object store once, not once per task.
        prepared, teacher, common = (ray.put(job[k]) for k in ("prepared", "teacher", "common"))
        futures = [task.remote(hidden, temperature, bins, order, prepared, teacher, common, job["gates"], job["config"],
                               job["fine_tune"], job["deadline"], False, threads, job.get("input_bins_from", "teacher"),
                               own, driver_code())
                   for (hidden, temperature, bins), order, own in zip(students, orders, overrides or [{}] * len(students),
                                                                       strict=True)]
        results: dict[int, tuple[list[dict[str, Any]], list[Any]]] = {}
        index = {f.hex(): i for i, f in enumerate(futures)}
        pending = list(futures)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for ref in ready:
                results[index[ref.hex()]] = ray.get(ref)
                if on_candidates is not None:
                    on_candidates(len(results[index[ref.hex()]][0]))
    except BaseException as exc:
        for ref in futures:
            ray.cancel(ref)
        cause = _finlite_cause(exc)
        if cause is not None and cause is not exc:
            raise cause from None
        raise
    finally:
        if owned:
            with keep_signal_handlers():  # Ray's shutdown resets SIGTERM under Python's handler
                ray.shutdown()
    candidates: list[dict[str, Any]] = []
    models: list[Any] = []
    for i in range(len(futures)):
        found, kept = results[i]
        candidates += found
        models += kept
    if timing:
        from finlite.export.timing import deployed_latency

        timed = [(c, m) for c, m in zip(candidates, models, strict=True) if m is not None]
        measured = deployed_latency([m.model for _, m in timed], job["prepared"].x_val) if timed else []
        for (candidate, _), numbers in zip(timed, measured, strict=True):
            candidate.update({"latency_p50_us": numbers["latency_p50_us"],
                              "rows_per_second": numbers.get("rows_per_second"), "timed": numbers.get("timed")})
    return candidates, models
