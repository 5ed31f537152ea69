"""``builtin``: the class decorator that marks operators shipped by Updraft.

It records the ``operator_kind`` the worker dispatches on and the public
module paths (2.x and 3.x) the serializer reports as ``operator_module``.
"""


def builtin(kind, module_v2, module_v3=None, name=None):
    """``name`` renames the class: a per-dialect variant keeps upstream's class
    name (Airflow's ``task_type``) while living beside the other variant."""

    def deco(cls):
        if name is not None:
            cls.__name__ = cls.__qualname__ = name
        cls._updraft_builtin = True
        cls._updraft_kind = kind
        cls._updraft_module_v2 = module_v2
        cls._updraft_module_v3 = module_v3 or module_v2
        cls.__module__ = module_v2
        return cls

    return deco
