"""Datasets (2.x) and Assets (3.x): schedule conditions and task outlets.

``Dataset`` is a subclass of ``Asset`` so both spellings serialize the same
way. ``&`` and ``|`` build ``AssetAll`` / ``AssetAny`` conditions.
"""


class BaseAsset:
    """Anything that can be a schedule condition."""

    def __and__(self, other):
        if not isinstance(other, BaseAsset):
            return NotImplemented
        return AssetAll(self, other)

    def __or__(self, other):
        if not isinstance(other, BaseAsset):
            return NotImplemented
        return AssetAny(self, other)


def _check_uri(uri, kind):
    if not isinstance(uri, str):
        raise TypeError(f"{kind} URI must be a string, got {type(uri).__name__}")
    if not uri:
        raise ValueError(f"{kind} URI cannot be empty")
    if uri.isspace():
        raise ValueError(f"{kind} URI cannot be just whitespace")
    if not uri.isascii():
        raise ValueError(f"{kind} URI must only consist of ASCII characters")
    if uri.split("://", 1)[0].lower() == "airflow":
        raise ValueError(f"{kind} scheme 'airflow' is reserved")


class Asset(BaseAsset):
    """A data asset identified by ``name`` and ``uri`` (each defaults to the other)."""

    asset_type = "asset"

    def __init__(self, name=None, uri=None, *, group="asset", extra=None, watchers=None):
        if name is None and uri is None:
            raise TypeError("Asset() requires either 'name' or 'uri'")
        if uri is None:
            uri = name
        if name is None:
            name = uri
        _check_uri(uri, "Asset")
        self.name = name
        self.uri = uri
        self.group = group or "asset"
        self.extra = dict(extra or {})
        self.watchers = list(watchers or [])

    @classmethod
    def ref(cls, *, name=None, uri=None):
        return cls(name=name, uri=uri)

    def __eq__(self, other):
        return isinstance(other, Asset) and (self.name, self.uri) == (other.name, other.uri)

    def __hash__(self):
        return hash((self.name, self.uri))

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r}, uri={self.uri!r})"

    def iter_assets(self):
        yield self.uri, self


class Dataset(Asset):
    """Airflow 2.x spelling: ``Dataset(uri, extra=None)``."""

    def __init__(self, uri, extra=None, *, name=None, group="asset"):
        _check_uri(uri, "Dataset")
        super().__init__(name=name or uri, uri=uri, group=group, extra=extra)


class Model(Asset):
    asset_type = "model"


class AssetAlias(BaseAsset):
    """A name that resolves to assets at run time (3.x) / ``DatasetAlias`` (2.10)."""

    def __init__(self, name, group="asset"):
        self.name = name
        self.group = group

    def __eq__(self, other):
        return isinstance(other, AssetAlias) and self.name == other.name

    def __hash__(self):
        return hash(("alias", self.name))

    def __repr__(self):
        return f"AssetAlias(name={self.name!r})"


DatasetAlias = AssetAlias


class _AssetBoolean(BaseAsset):
    def __init__(self, *objects):
        for obj in objects:
            if not isinstance(obj, BaseAsset):
                raise TypeError(f"{type(self).__name__} expects assets, got {type(obj).__name__}")
        self.objects = list(objects)

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(map(repr, self.objects))})"


class AssetAll(_AssetBoolean):
    """All of the assets must be updated."""

    def __and__(self, other):
        if isinstance(other, BaseAsset) and not isinstance(other, AssetAll):
            return AssetAll(*self.objects, other)
        return super().__and__(other)


class AssetAny(_AssetBoolean):
    """Any of the assets being updated is enough."""

    def __or__(self, other):
        if isinstance(other, BaseAsset) and not isinstance(other, AssetAny):
            return AssetAny(*self.objects, other)
        return super().__or__(other)


DatasetAll = AssetAll
DatasetAny = AssetAny


class Metadata:
    """Extra information attached to an asset event (``yield Metadata(...)``)."""

    def __init__(self, target, extra, alias=None):
        self.asset = target
        self.extra = extra
        self.alias = alias


def asset_condition(value):
    """Normalise a schedule value made of assets into a condition object."""
    if isinstance(value, BaseAsset):
        return value
    items = list(value)
    if not items or not all(isinstance(x, BaseAsset) for x in items):
        raise ValueError("All elements in 'schedule' should be assets")
    return AssetAll(*items)
