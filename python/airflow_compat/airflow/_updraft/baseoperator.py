"""``BaseOperator``: task arguments, ``default_args``, DAG/TaskGroup
membership, dependencies, XComArg wiring, setup/teardown and mapping.

Every subclass's ``__init__`` is wrapped (as Airflow's ``apply_defaults``
metaclass does) so that missing keyword arguments are filled from the DAG's,
the enclosing TaskGroups' and the call's ``default_args``.
"""
import datetime as _dt
import functools
import inspect

from . import context as ctx
from .compat import as_timedelta, coerce_datetime
from .dag import validate_key
from .dependencies import DependencyMixin, as_list, check_same_dag
from .enums import TriggerRule, WeightRule
from .exceptions import AirflowException, InvalidArgumentsError, TaskDeferred
from .params import merge_params
from .xcomarg import XComArg, node_tasks

# Arguments never filled from default_args (they are handled explicitly).
_NOT_DEFAULTABLE = frozenset({"task_id", "dag", "task_group", "default_args", "params", "self"})
_INIT_STATE = "_updraft_init"


def checking_values():
    """False while a mapped task is built: Airflow does not run the operator's
    ``__init__`` for ``.partial().expand()`` at parse time, so values (which may
    be lists, XComArgs or missing) are not validated then."""
    return not ctx.STATE.mapping


def resolve_variant(cls):
    """The class a DAG file gets when it instantiates ``cls``.

    A few upstream classes changed between Airflow 2.10 and 3.1 while keeping
    their import path (the Kafka provider's sensors): the public class then
    carries ``_updraft_variants = (class_for_2x, class_for_3x)`` in its own
    ``__dict__`` and the file's dialect picks one. Subclasses (user classes)
    are never redirected.
    """
    variants = cls.__dict__.get("_updraft_variants")
    if variants is None:
        return cls
    return variants[1] if ctx.STATE.dialect3 else variants[0]


def _signature_info(init):
    names, required = [], []
    for p in inspect.signature(init).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name == "self":
            continue
        names.append(p.name)
        if p.default is p.empty and p.name not in _NOT_DEFAULTABLE:
            required.append(p.name)
    return tuple(names), tuple(required)


def _merged_default_args(kwargs, dag, group):
    merged = {}
    if dag is not None and dag.default_args:
        merged.update(dag.default_args)
    chain = []
    while group is not None:
        if group.default_args:
            chain.append(group.default_args)
        group = group.parent_group
    for d in reversed(chain):
        merged.update(d)
    own = kwargs.get("default_args")
    if own:
        merged.update(own)
    return merged


def _wrap_init(cls, init):
    names, required = _signature_info(init)
    fill = tuple(n for n in names if n not in _NOT_DEFAULTABLE)

    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        if args:
            raise AirflowException("Use keyword arguments when initializing operators")
        state = self.__dict__.get(_INIT_STATE)
        outer = state is None
        rejected = type(self)._updraft_rejected
        if outer:
            if rejected:
                bad = {k: v for k, v in kwargs.items() if k in rejected}
                if bad:
                    self._raise_invalid_args(kwargs.get("task_id"), bad)
            dag = kwargs.get("dag") or ctx.current_dag()
            group = kwargs.get("task_group") or ctx.current_task_group(dag)
            state = (_merged_default_args(kwargs, dag, group), dag, group)
            self.__dict__[_INIT_STATE] = state
        defaults = state[0]
        if defaults:
            for name in fill:
                if name not in kwargs and name in defaults and name not in rejected:
                    kwargs[name] = defaults[name]
        if required:
            for name in required:
                if name in kwargs:
                    continue
                if ctx.STATE.mapping:  # supplied by expand()/expand_kwargs() at run time
                    kwargs[name] = None
                    continue
                unknown = {k: v for k, v in kwargs.items() if k not in type(self)._updraft_accepted}
                if unknown:
                    self._raise_invalid_args(kwargs.get("task_id"), unknown)
                raise TypeError(f"{type(self).__name__}.__init__() missing required keyword argument {name!r}")
        try:
            init(self, **kwargs)
        finally:
            if outer:
                self.__dict__.pop(_INIT_STATE, None)
        if outer:
            self._updraft_after_init()

    wrapper._updraft_wrapped = True
    return wrapper


class BaseOperator(DependencyMixin):
    """The base of every operator: all of Airflow's task-level arguments."""

    template_fields = ()
    template_ext = ()
    template_fields_renderers = {}
    ui_color = "#fff"
    ui_fgcolor = "#000"
    operator_extra_links = ()
    shallow_copy_attrs = ()
    inherits_from_empty_operator = False
    is_mapped = False
    # Updraft metadata: kind dispatched by the worker, builtin marker, module paths.
    _updraft_builtin = True
    _updraft_kind = "custom"
    _updraft_module_v2 = "airflow.models.baseoperator"
    _updraft_module_v3 = "airflow.sdk.bases.operator"
    _updraft_python = False
    _updraft_decorator = None
    _updraft_hidden_args = ()
    # Arguments an ancestor's __init__ accepts but this class must refuse (the
    # upstream class of this dialect does not have them). Inherited normally.
    _updraft_rejected_args = ()
    # Attributes serialized in `fields` besides the operator's own arguments
    # (e.g. a HITL operator's form `params`, a BaseOperator argument).
    _updraft_extra_fields = ()

    def __new__(cls, *args, **kwargs):
        return object.__new__(resolve_variant(cls))

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None and not getattr(init, "_updraft_wrapped", False):
            cls.__init__ = _wrap_init(cls, init)
        if "_updraft_builtin" not in cls.__dict__:
            cls._updraft_builtin = False
        # Operator-specific argument names (beyond BaseOperator's), used for `fields`.
        own = set()
        for klass in cls.__mro__:
            if klass is BaseOperator or klass is object or not issubclass(klass, BaseOperator):
                continue
            kinit = klass.__dict__.get("__init__")
            if kinit is not None:
                target = getattr(kinit, "__wrapped__", kinit)
                own.update(_signature_info(target)[0])
        hidden = set()
        for klass in cls.__mro__:
            hidden.update(klass.__dict__.get("_updraft_hidden_args", ()))
        extra = set()
        for klass in cls.__mro__:
            extra.update(klass.__dict__.get("_updraft_extra_fields", ()))
        rejected = frozenset(cls._updraft_rejected_args)
        cls._updraft_arg_names = tuple(sorted((own - _BASE_ARG_NAMES - hidden - rejected) | extra))
        cls._updraft_hidden_all = frozenset(hidden)
        cls._updraft_accepted = frozenset((own | _BASE_ARG_NAMES) - rejected)
        cls._updraft_rejected = rejected

    def __init__(
        self,
        *,
        task_id,
        owner="airflow",
        email=None,
        email_on_retry=True,
        email_on_failure=True,
        retries=0,
        retry_delay=_dt.timedelta(seconds=300),
        retry_exponential_backoff=False,
        max_retry_delay=None,
        start_date=None,
        end_date=None,
        depends_on_past=False,
        ignore_first_depends_on_past=False,
        wait_for_past_depends_before_skipping=False,
        wait_for_downstream=False,
        dag=None,
        params=None,
        default_args=None,
        priority_weight=1,
        weight_rule="downstream",
        queue="default",
        pool=None,
        pool_slots=1,
        sla=None,
        execution_timeout=None,
        on_execute_callback=None,
        on_failure_callback=None,
        on_success_callback=None,
        on_retry_callback=None,
        on_skipped_callback=None,
        pre_execute=None,
        post_execute=None,
        trigger_rule="all_success",
        resources=None,
        run_as_user=None,
        task_concurrency=None,
        max_active_tis_per_dag=None,
        max_active_tis_per_dagrun=None,
        executor=None,
        executor_config=None,
        do_xcom_push=True,
        multiple_outputs=False,
        inlets=None,
        outlets=None,
        task_group=None,
        doc=None,
        doc_md=None,
        doc_json=None,
        doc_yaml=None,
        doc_rst=None,
        task_display_name=None,
        logger_name=None,
        allow_nested_operators=True,
        map_index_template=None,
        render_template_as_native_obj=None,
        **kwargs,
    ):
        if kwargs:
            self._raise_invalid_args(task_id, kwargs)
        state = self.__dict__.get(_INIT_STATE)
        if state is not None:
            defaults, ctx_dag, ctx_group = state
        else:  # BaseOperator.__init__ called on an unwrapped path
            ctx_dag = dag or ctx.current_dag()
            ctx_group = task_group or ctx.current_task_group(ctx_dag)
            defaults = _merged_default_args({"default_args": default_args}, ctx_dag, ctx_group)
        dag = dag or ctx_dag
        task_group = task_group or ctx_group
        validate_key(task_id)
        d = self.__dict__
        d["task_id"] = task_group.child_id(task_id) if task_group is not None else task_id
        d["_task_id_label"] = task_id
        d["owner"] = owner
        d["email"] = email
        d["email_on_retry"] = email_on_retry
        d["email_on_failure"] = email_on_failure
        d["retries"] = retries
        d["retry_delay"] = as_timedelta(retry_delay, "retry_delay")
        d["retry_exponential_backoff"] = retry_exponential_backoff
        d["max_retry_delay"] = as_timedelta(max_retry_delay, "max_retry_delay")
        d["start_date"] = coerce_datetime(start_date, "start_date")
        d["end_date"] = coerce_datetime(end_date, "end_date")
        d["depends_on_past"] = bool(depends_on_past or wait_for_downstream)
        d["ignore_first_depends_on_past"] = ignore_first_depends_on_past
        d["wait_for_past_depends_before_skipping"] = wait_for_past_depends_before_skipping
        d["wait_for_downstream"] = wait_for_downstream
        if not TriggerRule.is_valid(trigger_rule):
            raise AirflowException(
                f"The trigger_rule must be one of {sorted(TriggerRule.all_triggers())},"
                f"'{dag.dag_id if dag else ''}.{task_id}'; received '{trigger_rule}'."
            )
        d["trigger_rule"] = TriggerRule(trigger_rule)
        if isinstance(weight_rule, str) and not WeightRule.is_valid(weight_rule):
            raise AirflowException(
                f"The weight_rule must be one of {sorted(WeightRule.all_weight_rules())},"
                f"'{dag.dag_id if dag else ''}.{task_id}'; received '{weight_rule}'."
            )
        d["weight_rule"] = weight_rule
        d["priority_weight"] = priority_weight
        d["queue"] = queue
        d["pool"] = pool or "default_pool"
        if pool_slots < 1:
            raise ValueError(f"pool slots for {task_id} in dag {dag.dag_id if dag else None} cannot be less than 1")
        d["pool_slots"] = pool_slots
        d["sla"] = sla
        d["execution_timeout"] = as_timedelta(execution_timeout, "execution_timeout")
        d["on_execute_callback"] = on_execute_callback
        d["on_failure_callback"] = on_failure_callback
        d["on_success_callback"] = on_success_callback
        d["on_retry_callback"] = on_retry_callback
        d["on_skipped_callback"] = on_skipped_callback
        d["_pre_execute_hook"] = pre_execute
        d["_post_execute_hook"] = post_execute
        d["resources"] = resources
        d["run_as_user"] = run_as_user
        d["max_active_tis_per_dag"] = max_active_tis_per_dag if max_active_tis_per_dag is not None else task_concurrency
        d["max_active_tis_per_dagrun"] = max_active_tis_per_dagrun
        d["executor"] = executor
        d["executor_config"] = executor_config or {}
        d["do_xcom_push"] = do_xcom_push
        d["multiple_outputs"] = multiple_outputs
        d["inlets"] = as_list(inlets) if inlets is not None else []
        d["outlets"] = as_list(outlets) if outlets is not None else []
        d["doc"] = doc
        d["doc_md"] = doc_md
        d["doc_json"] = doc_json
        d["doc_yaml"] = doc_yaml
        d["doc_rst"] = doc_rst
        d["task_display_name"] = task_display_name
        d["logger_name"] = logger_name
        d["allow_nested_operators"] = allow_nested_operators
        d["map_index_template"] = map_index_template
        d["render_template_as_native_obj"] = render_template_as_native_obj
        d["is_setup"] = False
        d["is_teardown"] = False
        d["on_failure_fail_dagrun"] = False
        d["mapped"] = None
        d["_upstream"] = {}
        d["_downstream"] = {}
        if dag is not None and defaults.get("params") is None and not params and not dag.params:
            d["params"] = {}
        else:
            d["params"] = merge_params(dag.params if dag is not None else None, defaults.get("params"), params)
        d["dag"] = None
        d["task_group"] = task_group
        if task_group is not None:
            task_group.add(self)
        if dag is not None:
            dag.add_task(self)

    def _raise_invalid_args(self, task_id, kwargs):
        import difflib

        accepted = set(type(self)._updraft_arg_names) | _BASE_ARG_NAMES
        hints = []
        for k in kwargs:
            close = difflib.get_close_matches(k, accepted, n=1)
            if close:
                hints.append(f"{k!r} (did you mean {close[0]!r}?)")
            else:
                hints.append(repr(k))
        raise InvalidArgumentsError(
            f"Invalid arguments were passed to {type(self).__name__} (task_id: {task_id}). "
            f"Unknown argument(s): {', '.join(hints)}. Invalid arguments were:\n**kwargs: {kwargs!r}"
        )

    def _updraft_after_init(self):
        """Wire XComArgs found in the operator's own arguments as upstream tasks."""
        d = self.__dict__
        for name, value in d.items():
            if name in _BASE_ATTRS or name.startswith("_") or value is None:
                continue
            if isinstance(value, (str, int, float, bool)):
                continue
            for ref in XComArg.iter_xcom_references(value):
                if ref.operator is not self:
                    self.set_upstream(ref.operator)

    # identity --------------------------------------------------------------
    @property
    def node_id(self):
        return self.task_id

    @property
    def label(self):
        return self.task_display_name or self._task_id_label

    @property
    def dag_id(self):
        dag = self.__dict__.get("dag")
        return dag.dag_id if dag is not None else f"adhoc_{self.owner}"

    @property
    def task_type(self):
        return type(self).__name__

    @property
    def operator_name(self):
        return getattr(self, "custom_operator_name", None) or type(self).__name__

    @property
    def has_dag(self):
        return self.__dict__.get("dag") is not None

    def get_dag(self):
        return self.__dict__.get("dag")

    def __setattr__(self, name, value):
        if name == "dag":
            if value is not None:
                value.add_task(self)
            else:
                self.__dict__["dag"] = None
            return
        object.__setattr__(self, name, value)
        if "_upstream" not in self.__dict__:
            return  # before BaseOperator.__init__: wired by _updraft_after_init
        if name in type(self).template_fields and not isinstance(value, (str, int, float, bool, type(None))):
            for ref in XComArg.iter_xcom_references(value):
                if ref.operator is not self:
                    self.set_upstream(ref.operator)

    def __repr__(self):
        return f"<Task({type(self).__name__}): {self.task_id}>"

    @property
    def output(self):
        return XComArg(self)

    # relationships -------------------------------------------------------------
    @property
    def upstream_task_ids(self):
        return self._upstream.keys()

    @property
    def downstream_task_ids(self):
        return self._downstream.keys()

    @property
    def upstream_list(self):
        return list(self._upstream.values())

    @property
    def downstream_list(self):
        return list(self._downstream.values())

    @property
    def roots(self):
        return [self]

    @property
    def leaves(self):
        return [self]

    def _set_relatives(self, other, upstream, edge_modifier=None):
        items = as_list(other)
        nodes = []
        for item in items:
            if hasattr(item, "add_edge_info"):  # an EdgeModifier
                item.update_relative(self, not upstream)
                continue
            nodes.append(item)
        if not nodes:
            return
        tasks = node_tasks(nodes, upstream_side=upstream)
        my_dag = self.__dict__.get("dag")
        for t in tasks:
            other_dag = t.__dict__.get("dag")
            check_same_dag(my_dag, other_dag)
            if my_dag is None and other_dag is not None:
                other_dag.add_task(self)
                my_dag = other_dag
        for t in tasks:
            if my_dag is not None and t.__dict__.get("dag") is None:
                my_dag.add_task(t)
            if upstream:
                up, down = t, self
            else:
                up, down = self, t
            up._downstream[down.task_id] = down
            down._upstream[up.task_id] = up
            if edge_modifier is not None and my_dag is not None:
                edge_modifier.add_edge_info(my_dag, up.task_id, down.task_id)

    def set_upstream(self, task_or_task_list, edge_modifier=None):
        self._set_relatives(task_or_task_list, upstream=True, edge_modifier=edge_modifier)

    def set_downstream(self, task_or_task_list, edge_modifier=None):
        self._set_relatives(task_or_task_list, upstream=False, edge_modifier=edge_modifier)

    def get_direct_relative_ids(self, upstream=False):
        return set(self._upstream if upstream else self._downstream)

    def get_direct_relatives(self, upstream=False):
        return list((self._upstream if upstream else self._downstream).values())

    def get_flat_relative_ids(self, upstream=False):
        seen, stack = set(), [self]
        while stack:
            t = stack.pop()
            for rid, rel in (t._upstream if upstream else t._downstream).items():
                if rid not in seen:
                    seen.add(rid)
                    stack.append(rel)
        return seen

    def get_flat_relatives(self, upstream=False):
        dag = self.dag
        return [dag.task_dict[i] for i in self.get_flat_relative_ids(upstream)] if dag else []

    # setup / teardown -------------------------------------------------------------
    def as_setup(self):
        self.is_setup = True
        return self

    def as_teardown(self, *, setups=None, on_failure_fail_dagrun=None):
        self.is_teardown = True
        self.trigger_rule = TriggerRule.ALL_DONE_SETUP_SUCCESS
        if on_failure_fail_dagrun is not None:
            self.on_failure_fail_dagrun = on_failure_fail_dagrun
        if setups is not None:
            for s in as_list(setups):
                s.as_setup()
                self.set_upstream(s)
        return self

    def __enter__(self):
        if not (self.is_setup or self.is_teardown):
            raise AirflowException("Only setup/teardown tasks can be used as context managers.")
        dag = self.dag
        self.__dict__["_updraft_ctx_before"] = set(dag.task_dict) if dag else set()
        return self

    def __exit__(self, *exc):
        dag = self.dag
        before = self.__dict__.pop("_updraft_ctx_before", set())
        if dag is None or exc[0] is not None:
            return
        new = [t for tid, t in dag.task_dict.items() if tid not in before and t is not self]
        ids = {t.task_id for t in new}
        setups = [self] if self.is_setup else [u for u in self.upstream_list if u.is_setup]
        teardowns = [self] if self.is_teardown else [d for d in self.downstream_list if d.is_teardown]
        leaves = []
        for t in new:
            if t.upstream_task_ids.isdisjoint(ids):
                for s in setups:
                    t.set_upstream(s)
            if t.downstream_task_ids.isdisjoint(ids):
                if t.is_teardown:  # a nested teardown: its work tasks are the leaves
                    leaves.extend(u for u in t.upstream_list if u.task_id in ids and not u.is_setup)
                else:
                    leaves.append(t)
        for t in leaves:
            for td in teardowns:
                t.set_downstream(td)

    # mapping ----------------------------------------------------------------
    @classmethod
    def partial(cls, **kwargs):
        from .mapping import OperatorPartial

        return OperatorPartial(resolve_variant(cls), kwargs)

    # runtime stubs (run by Updraft's Python task runner, never while parsing) --------
    def execute(self, context):
        raise NotImplementedError()

    def pre_execute(self, context):
        hook = self.__dict__.get("_pre_execute_hook")
        if hook is not None:
            hook(context)

    def post_execute(self, context, result=None):
        hook = self.__dict__.get("_post_execute_hook")
        if hook is not None:
            hook(context, result)

    def on_kill(self):
        pass

    def defer(self, *, trigger, method_name, kwargs=None, timeout=None):
        raise TaskDeferred(trigger=trigger, method_name=method_name, kwargs=kwargs, timeout=timeout)

    def render_template_fields(self, context, jinja_env=None):
        raise NotImplementedError("Templates are rendered by the Updraft worker")

    def xcom_push(self, context, key, value):
        context["ti"].xcom_push(key=key, value=value)

    def xcom_pull(self, context, task_ids=None, dag_id=None, key="return_value", include_prior_dates=False):
        return context["ti"].xcom_pull(task_ids=task_ids, dag_id=dag_id, key=key,
                                       include_prior_dates=include_prior_dates)

    @property
    def log(self):
        import logging

        return logging.getLogger(f"airflow.task.operators.{type(self).__module__}.{type(self).__name__}")

    def __deepcopy__(self, memo):
        return self

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other


BaseOperator.__init__ = _wrap_init(BaseOperator, BaseOperator.__init__)
_BASE_ARG_NAMES = frozenset(_signature_info(BaseOperator.__init__.__wrapped__)[0])
BaseOperator._updraft_arg_names = ()
BaseOperator._updraft_hidden_all = frozenset()
BaseOperator._updraft_accepted = _BASE_ARG_NAMES
BaseOperator._updraft_rejected = frozenset()
_BASE_ATTRS = frozenset()
_BASE_ATTRS = frozenset(BaseOperator(task_id="_updraft_probe").__dict__) | {"dag", "task_group", "params", "mapped", "is_mapped"}
# Placeholders documenting the 2.x helpers that users import from baseoperator.
BaseOperatorMeta = type(BaseOperator)
