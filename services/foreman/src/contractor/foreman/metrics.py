"""Prometheus metrics of one replica (spec §12.1), in a registry of the app's own.

Counters and histograms are updated where things happen; the gauges (jobs by state, queue
depth, leased tasks, agents by status) are computed from the database when scraped.
"""

from __future__ import annotations

from contractor.foreman import orm
from contractor.foreman.clock import Clock
from contractor.foreman.settings import Settings
from contractor.foreman.store import agents
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

PREFIX = "contractor_foreman_"


class Metrics:
    """The metric objects; one instance per app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.transitions = Counter(
            PREFIX + "job_transitions_total", "Job state changes.", ["from", "to"], registry=r
        )
        self.steps = Counter(PREFIX + "steps_total", "Job steps.", ["outcome"], registry=r)
        self.step_seconds = Histogram(
            PREFIX + "step_seconds", "Time of one job step.", ["outcome"], registry=r
        )
        self.task_lost = Counter(
            PREFIX + "task_lost_total", "Expired leases.", ["module", "outcome"], registry=r
        )
        self.polls_waiting = Gauge(PREFIX + "polls_waiting", "Polls being held.", registry=r)
        self.jobs = Gauge(PREFIX + "jobs", "Jobs by state.", ["state"], registry=r)
        self.queue_depth = Gauge(
            PREFIX + "task_queue_depth", "Pending tasks.", ["site", "module"], registry=r
        )
        self.leased = Gauge(
            PREFIX + "tasks_leased", "Leased or started tasks.", ["site", "module"], registry=r
        )
        self.agents = Gauge(PREFIX + "agents", "Agents by status.", ["status"], registry=r)
        self.task_dispatch_seconds = Histogram(
            PREFIX + "task_dispatch_seconds",
            "Task available (created or re-offered) to handed to an agent.",
            ["module"],
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        self.task_roundtrip_seconds = Histogram(
            PREFIX + "task_roundtrip_seconds",
            "Task created to outcome recorded.",
            ["module", "function"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 60, 300, 1800),
            registry=r,
        )
        self.agent_last_seen = Gauge(
            PREFIX + "agent_last_seen_seconds",
            "Seconds since an agent was last seen.",
            ["agent", "site"],
            registry=r,
        )
        self.inventory_seconds = Histogram(
            PREFIX + "inventory_seconds", "Calls to inventory.", ["op", "outcome"], registry=r
        )
        self.boot_requests = Counter(
            PREFIX + "boot_requests_total",
            "Boot relays answered (render kinds, signal, message, discovery).",
            ["kind", "status"],
            registry=r,
        )
        self.boot_phase_seconds = Histogram(
            PREFIX + "boot_phase_seconds",
            "Boot phases of job timelines (power_on_to_dhcp …), fed as each completes.",
            ["phase"],
            buckets=(1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600),
            registry=r,
        )

    async def render(self, session: AsyncSession, settings: Settings, clock: Clock) -> bytes:
        """Refresh the gauges from the database and render the text format."""
        self.jobs.clear()
        for state, count in (
            await session.execute(select(orm.Job.state, func.count()).group_by(orm.Job.state))
        ).all():
            self.jobs.labels(state).set(count)
        self.queue_depth.clear()
        self.leased.clear()
        rows = await session.execute(
            select(orm.Task.state, orm.Task.site, orm.Task.module, func.count())
            .where(orm.Task.state.in_(("pending", "leased", "started")))
            .group_by(orm.Task.state, orm.Task.site, orm.Task.module)
        )
        for state, site, module, count in rows.all():
            gauge = self.queue_depth if state == "pending" else self.leased
            gauge.labels(site, module).inc(count)
        self.agents.clear()
        self.agent_last_seen.clear()
        now = clock.now()
        for agent in await agents.page(session, after=None, limit=10_000):
            status = agents.status(
                agent, now, online_s=settings.agent_online_s, stale_s=settings.agent_stale_s
            )
            self.agents.labels(status).inc()
            if agent.last_seen is not None:
                age = max(0.0, (now - agent.last_seen).total_seconds())
                for site in agent.sites or []:
                    self.agent_last_seen.labels(agent.name, site).set(age)
        return generate_latest(self.registry)
