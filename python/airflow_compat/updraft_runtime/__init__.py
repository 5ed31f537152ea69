"""Updraft's Python runtime: the DAG parse child (``parse``), its fork server
(``parse_server``) and the serializer that produces the contract of
docs/serialized-dag.md (``serialize``). Imported only by Updraft processes,
never by DAG files.
"""
