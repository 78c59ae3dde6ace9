"""The method interface: what training, loading, evaluation and the benchmark ask a method.

A method is one object (a :class:`Method`) registered by name
(:func:`~mtml_rl.training.registry.register_method`). Training resolves ``config.method``
once and asks the object everything that differs between methods: the environment layout,
the SB3 env wrapper, the algorithm, the policy, what runs after training, the deployed
agent, how a run is rolled out, and what the benchmark reports about its budget. No other
code names a method.

The interface lives in the training layer because its hooks speak about training's
objects (:class:`~mtml_rl.training.config.TrainConfig`, :class:`~mtml_rl.training.run.Run`);
the built-in methods (:mod:`mtml_rl.methods`) sit above it and are found by reference.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gymnasium import spaces

from mtml_rl.errors import ConfigError
from mtml_rl.rollouts import Agent, EpisodeRecord, rollout_tasks
from mtml_rl.specs.spec import TaskSpec
from mtml_rl.tasks.task import Task
from mtml_rl.training.config import PER_METHOD_FIELDS

if TYPE_CHECKING:  # the config and the run ask their method; the method is handed both
    from stable_baselines3.common.policies import BasePolicy
    from stable_baselines3.common.vec_env import VecEnv

    from mtml_rl.training.algorithms import AlgoInfo
    from mtml_rl.training.config import TrainConfig
    from mtml_rl.training.run import Run


@dataclass(frozen=True)
class MethodEnv:
    """How a method's training environment presents tasks.

    :param context: the context visibility mode during training
    :param history_len: the history window in observations (0: none)
    :param trial_episodes: episodes per trial (a slot keeps its task this many episodes)
    """

    context: str
    history_len: int
    trial_episodes: int = 1


@dataclass(frozen=True)
class PolicySpec:
    """The SB3 policy a method trains: its alias (or class) and keyword arguments.

    :param name: SB3's policy alias (``MlpPolicy``, ``MultiInputPolicy``, ``MlpLstmPolicy`` ...)
        or a policy class
    :param kwargs: the ``policy_kwargs`` handed to the algorithm
    """

    name: str | type[BasePolicy]
    kwargs: dict[str, Any]


def policy_name(observation_space: spaces.Space, recurrent: bool = False) -> str:
    """SB3's (or sb3-contrib's recurrent) policy alias for Box or Dict observations."""
    is_dict = isinstance(observation_space, spaces.Dict)
    if recurrent:
        return "MultiInputLstmPolicy" if is_dict else "MlpLstmPolicy"
    return "MultiInputPolicy" if is_dict else "MlpPolicy"


@dataclass(frozen=True)
class Method:
    """One way to train a policy across a task distribution and to deploy it.

    Subclass it (or a built-in: :class:`mtml_rl.methods.meta.MetaMethod` for methods that
    differ in what feeds the task latent) and register an instance with
    :func:`~mtml_rl.training.registry.register_method`. Every hook has a default that
    fits a context-blind policy deployed as trained, except :meth:`agent`.

    :param name: the registered name (letters, digits, ``_`` and ``-``); run folders,
        trial names and results use it
    :param summary: one line for ``mtml-rl list`` and help texts
    :param label: the name results report it under (default: ``name``)
    :param reads_context: it trains on the true context, so it is refused on a spec that
        declares ``privileged_context: false``
    :param privileged: its deployed agent reads the true context: results report it as the
        privileged reference (the oracle upper bound) and normalize by it
    :param recurrent: its policy keeps a recurrent state, so :meth:`Run.act` refuses it
        (act through its agent)
    :param default_trial_episodes: episodes per trial when the config leaves it unset
    :param report_order: position in reports and tables (lower first; privileged last)
    :param gap_end: ``"blind"`` or ``"privileged"``: the end of the benchmark's gap table
        this method stands for (``None``: a method measured against that gap)
    :param post_training: the run's status while :meth:`post_train` runs (``""``: no
        post-training step)
    :param needs_task_id: it is given the task id (the one-hot of the spec's categorical
        parameters, e.g. Meta-World's environment) in training and at deployment, so it is
        refused on a spec without a varying categorical parameter
    :param trains_as: the registered method whose training this one's is, step for step,
        the two differing only in how a run is deployed (``finetune`` trains as ``dr``;
        ``None``: its own training). A run of that method can be deployed as this one
        (:meth:`~mtml_rl.training.run.Run.deployed_as`), and a benchmark grid with both
        methods evaluates one run for both, so that their comparison is paired
    :param deployment_fields: the :class:`TrainConfig` fields that act only at deployment
        (``finetune``'s ``finetune_timesteps``, ``adapt``'s ``adapt_probe_steps``): a deployment
        may set them to other values than the run was trained with, and a grid whose value
        changes evaluates its finished runs again instead of training them again
    :param first_phase: the registered method whose whole training is this one's first phase,
        step for step (``adapt``'s phase 1 is the ``oracle``'s training: the same policy and
        statistics, bit for bit; phase 2 then trains the adaptation module beside the policy;
        ``None``: no such method). A run of this method can be deployed as that one (in this
        method's observation layout: :meth:`~mtml_rl.training.run.Run.deployed_as`), and a
        benchmark grid with both deploys this method's run as that one's instead of training
        the same policy twice
    :param later_phase_fields: the :class:`TrainConfig` fields that act only after the first
        phase (``adapt``'s phase 2, history window and encoder): a grid's trial of the
        :attr:`first_phase` method whose config differs from this method's trial only in these
        and the :attr:`deployment_fields` deploys this trial's run
    """

    name: str
    summary: str = ""
    label: str = ""
    reads_context: bool = False
    privileged: bool = False
    recurrent: bool = False
    default_trial_episodes: int = 1
    report_order: int = 50
    gap_end: str | None = None
    post_training: str = ""
    needs_task_id: bool = False
    trains_as: str | None = None
    deployment_fields: tuple[str, ...] = ()
    first_phase: str | None = None
    later_phase_fields: tuple[str, ...] = ()

    @property
    def training_identity(self) -> str:
        """The name of the method whose training this one's is (:attr:`trains_as`, else its
        own): runs of two methods with the same identity deploy as either."""
        return self.trains_as or self.name

    @property
    def report_label(self) -> str:
        """The name results report the method under."""
        return self.label or self.name

    def later_phase_settings(self, config: TrainConfig) -> dict[str, Any]:
        """``config``'s values of :attr:`later_phase_fields`: the settings a post-training
        step's saved progress was made with, recorded beside it so that a resume never goes on
        from progress of other settings."""
        data = config.to_dict()
        return {name: data[name] for name in self.later_phase_fields}

    # ---------------------------------------------------------------------------- training
    def fields_read(self, config: TrainConfig) -> frozenset[str] | None:
        """Those of the config fields only some methods read
        (:data:`~mtml_rl.training.config.PER_METHOD_FIELDS`: ``latent_dim``, the history window's
        and encoder's, ``adapt``'s, ``finetune``'s) that this method reads, in training or at
        deployment. ``mtml-rl train``, ``evaluate --deployment`` and a grid file's
        per-method overrides refuse one it does not read (it would do nothing), and a
        benchmark grid leaves those out when it compares a finished run's config with its
        trial's (they cannot have changed what the run is).

        Default: ``None``, a method that does not say, taken as reading all of them; a method
        that reads none returns an empty set.
        """
        return None

    def fields_not_read(self, config: TrainConfig, names: Iterable[str] = PER_METHOD_FIELDS) -> list[str]:
        """Those of ``names`` that only some methods read and this one does not
        (:meth:`fields_read`; none for a method that does not say), in the order given."""
        read = self.fields_read(config)
        return [] if read is None else [n for n in names if n in PER_METHOD_FIELDS and n not in read]

    def layout(self, config: TrainConfig) -> MethodEnv:
        """The training environment's layout (default: context hidden, no history)."""
        return MethodEnv("hidden", 0, config.trial_episodes or self.default_trial_episodes)

    def unsupported(self, config: TrainConfig, spec: TaskSpec) -> str:
        """Why the method cannot train on ``spec``'s family at all, whatever its settings
        (e.g. an algorithm for continuous actions on a family with discrete ones), in words
        (``""``: it can; the default). Training refuses such a spec (:meth:`check`); a
        benchmark grid leaves the cell out and says why in its output and report."""
        return ""

    def check(self, config: TrainConfig, spec: TaskSpec) -> None:
        """Refuse a spec the method cannot train on (default: one it does not support
        (:meth:`unsupported`), one that forbids the context when the method reads it, and
        one without a task id when the method needs one)."""
        reason = self.unsupported(config, spec)
        if reason:
            raise ConfigError(reason)
        if self.reads_context and not spec.privileged_context:
            raise ConfigError(
                f"method {self.name} trains on the true context, but {spec.id} ({spec.source}) declares "
                "privileged_context: false; use a method that infers the task instead: dr, history or rl2"
            )
        if self.needs_task_id and not spec.categorical:
            raise ConfigError(
                f"method {self.name} needs a task id, but the tasks of {spec.id} differ in no categorical "
                "parameter (a spec such as mtml/MT10-v3, whose tasks name their environment, has one); "
                "use a method without a task id there: dr, oracle, history, adapt or rl2"
            )

    def algorithm(self, config: TrainConfig, action_space: spaces.Space | None = None) -> AlgoInfo:
        """The algorithm to train with (default: ``config.algo``, checked against the action space)."""
        from mtml_rl.training.algorithms import get_algo  # SB3: once a run is trained or loaded

        return get_algo(config.algo, action_space)

    def wrap_env(self, env: VecEnv, config: TrainConfig) -> VecEnv:
        """The SB3 env the algorithm steps, over the episode monitor (default: unchanged).
        A wrapper that changes the observations says how in :meth:`observation_space`."""
        return env

    def observation_space(
        self, config: TrainConfig, env_space: spaces.Space, action_space: spaces.Space
    ) -> spaces.Space:
        """The observations the policy takes, given the task env's (``env_space``, in the
        method's :meth:`layout`) and its actions: what :meth:`wrap_env` presents (default: the
        env's own). Training refuses a wrapper that presents other observations; loading a
        run compares its model with this, so that a family whose observations changed since
        the run was trained is named instead of failing inside the policy."""
        return env_space

    def policy(
        self, config: TrainConfig, observation_space: spaces.Space, policy_kwargs: dict[str, Any]
    ) -> PolicySpec:
        """The policy alias and ``policy_kwargs`` (default: SB3's MLP policy, kwargs as given)."""
        return PolicySpec(policy_name(observation_space, self.recurrent), dict(policy_kwargs))

    def post_train(self, run: Run, n_envs: int) -> None:
        """What runs after the policy is trained and saved (default: nothing)."""

    def tuning_space(self, config: TrainConfig) -> dict[str, dict[str, Any]]:
        """The method's own hyperparameters a tuning study searches, besides its algorithm's
        and its history window's (default: none). Name -> ``{"log": [low, high]}``,
        ``{"uniform": [low, high]}`` or ``{"choice": [...]}``; a name is a
        :class:`TrainConfig` field, or a dotted path into the run's ``hyperparams`` (e.g.
        ``policy_kwargs.features_extractor_kwargs.kl_weight``)."""
        return {}

    # -------------------------------------------------------------------------- deployment
    def cannot_play(self, spec: TaskSpec, tasks: Sequence[Task]) -> str:
        """Why a run of this method on ``spec`` cannot be evaluated on ``tasks``, in words
        (``""``: it can; the default). Evaluation refuses such a split, the benchmark and
        training's periodic evaluation leave it out."""
        return ""

    def agent(self, run: Run) -> Agent:
        """The agent that deploys ``run`` (the context withheld unless :attr:`privileged`)."""
        raise ConfigError(
            f"method {self.name} does not say how to deploy a run: implement agent(run) in "
            f"{type(self).__name__} (mtml_rl.agents has PolicyAgent for a policy deployed as trained)"
        )

    def evaluate(
        self, run: Run, tasks: Sequence[Task], *, episodes: int, seed: int, deterministic: bool
    ) -> list[EpisodeRecord]:
        """Roll ``run`` out on ``tasks`` in its training layout, ``episodes`` per task
        (what :meth:`Run.evaluate` and training's periodic evaluation do)."""
        layout = run.layout
        return rollout_tasks(
            lambda obs: run.act(obs, deterministic),
            run.spec,
            tasks,
            episodes=episodes,
            seed=seed,
            context=layout.context,
            history_len=layout.history_len,
        )

    # --------------------------------------------------------------------------- benchmark
    def estimated_cost(self, config: TrainConfig, spec: TaskSpec, steps: int, test_tasks: int) -> int:
        """Roughly the work a benchmark trial of ``steps`` training steps takes, evaluated on
        ``test_tasks`` tasks, in sample passes (:mod:`mtml_rl.training.cost`; the benchmark
        starts the longest first). Default: the ``steps`` of training under the method's
        algorithm and hyperparameters; a method that does more (a post-training step, work on
        each test task) adds it. Evaluation's rollouts are left out."""
        from mtml_rl.training.builders import resolve_algo  # SB3: only on use
        from mtml_rl.training.cost import training_work

        algo, hp = resolve_algo(config, spec)
        return training_work(algo, hp.algo_kwargs, config.n_envs or hp.n_envs, steps)

    def environment_steps(self, config: TrainConfig, steps: int) -> int:
        """The environment steps a run has spent once trained to ``steps`` training steps:
        training's, plus those of any post-training step (``adapt``'s phase 2). Not a cost
        estimate: this is what a steps-to-transfer curve puts on its x axis."""
        return steps

    def algorithm_label(self, config: TrainConfig) -> str:
        """The algorithm as a budget table names it."""
        return config.algo

    def budget_note(self, config: TrainConfig) -> str:
        """Steps beyond training, in words, for the budget table (default: none)."""
        return ""

    def test_task_steps(self, config: TrainConfig, spec: TaskSpec) -> int | None:
        """Environment steps the deployed method trains on each test task of ``spec`` before
        its episodes (``finetune``'s clone); ``None`` (the default): it trains on none."""
        return None
