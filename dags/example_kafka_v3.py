"""Order events through Kafka with the upstream Kafka provider (Airflow 3 Task SDK).

Covers: ProduceToTopicOperator with ``producer_function`` as a callable (with
``producer_function_args``/``kwargs``) and as a dotted-path string resolved from
the DAG folder (``common.kafka_callables...``), ConsumeFromTopicOperator
(dotted-path ``apply_function``, ``commit_cadence``, ``max_messages``,
``max_batch_size``), AwaitMessageSensor (dotted-path ``apply_function``,
``xcom_push_key``) and AwaitMessageTriggerFunctionSensor. Needs the
``kafka_default`` connection and a broker only at run time.
"""
import json
from datetime import timedelta

import pendulum

from airflow.providers.apache.kafka.operators.consume import ConsumeFromTopicOperator
from airflow.providers.apache.kafka.operators.produce import ProduceToTopicOperator
from airflow.providers.apache.kafka.sensors.kafka import AwaitMessageSensor, AwaitMessageTriggerFunctionSensor
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG


def produce_restock_events(*skus, warehouse="ams-1"):
    """Pure generator of (key, value) pairs."""
    for sku in skus:
        yield (sku, json.dumps({"sku": sku, "warehouse": warehouse, "action": "restock"}))


def on_price_change(event, **context):
    print("price change seen:", event)


with DAG(
    dag_id="example_kafka_v3",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 1, "retry_delay": timedelta(seconds=10)},
    tags=["example", "kafka", "v3"],
) as dag:
    produce_orders = ProduceToTopicOperator(
        task_id="produce_order_events",
        kafka_config_id="kafka_default",
        topic="orders",
        producer_function="common.kafka_callables.produce_order_events",
        producer_function_kwargs={"count": 3, "source": "{{ dag.dag_id }}"},
    )
    produce_restock = ProduceToTopicOperator(
        task_id="produce_restock_events",
        kafka_config_id="kafka_default",
        topic="restock",
        producer_function=produce_restock_events,
        producer_function_args=["sku-1", "sku-2"],
        producer_function_kwargs={"warehouse": "ams-2"},
        synchronous=False,
        poll_timeout=1,
    )
    consume_orders = ConsumeFromTopicOperator(
        task_id="consume_order_events",
        kafka_config_id="kafka_default",
        topics=["orders"],
        apply_function="common.kafka_callables.print_order",
        commit_cadence="end_of_batch",
        max_messages=10,
        max_batch_size=2,
        poll_timeout=5,
    )
    await_shipped = AwaitMessageSensor(
        task_id="await_order_shipped",
        kafka_config_id="kafka_default",
        topics=["shipments"],
        apply_function="common.kafka_callables.await_order_shipped",
        apply_function_kwargs={"order_id": "order-0"},
        xcom_push_key="shipment",
        poll_interval=5,
        poll_timeout=1,
    )
    listen_prices = AwaitMessageTriggerFunctionSensor(
        task_id="listen_price_changes",
        kafka_config_id="kafka_default",
        topics=["prices"],
        apply_function="common.kafka_callables.print_order",
        event_triggered_function=on_price_change,
        timeout=600,
    )
    report = BashOperator(
        task_id="report",
        bash_command="echo shipped {{ ti.xcom_pull(task_ids='await_order_shipped', key='shipment') }}",
    )

    [produce_orders, produce_restock] >> consume_orders >> await_shipped >> report
