"""``builtin``: the class decorator that marks operators shipped by Updraft.

It records the ``operator_kind`` the worker dispatches on and the public
module paths (2.x and 3.x) the serializer reports as ``operator_module``.
"""


def builtin(kind, module_v2, module_v3=None):
    def deco(cls):
        cls._updraft_builtin = True
        cls._updraft_kind = kind
        cls._updraft_module_v2 = module_v2
        cls._updraft_module_v3 = module_v3 or module_v2
        cls.__module__ = module_v2
        return cls

    return deco
