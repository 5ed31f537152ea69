"""benches/kafka: one ProduceToTopicOperator task producing N messages of S
bytes (N, S and the topic from the run's conf; ``max_messages``, which is not
a template field, from ``KAFKA_BENCH_N`` when the file is parsed), then ConsumeFromTopicOperator
tasks reading them back: one with an ``apply_function`` per message (the
provider's usual shape), one with no function (Rust only)."""
import os
from datetime import datetime

from airflow import DAG
from airflow.providers.apache.kafka.operators.consume import ConsumeFromTopicOperator
from airflow.providers.apache.kafka.operators.produce import ProduceToTopicOperator


N = int(os.environ.get("KAFKA_BENCH_N", "100000"))


def messages(n, size):
    value = b"x" * int(size)
    for i in range(int(n)):
        yield (str(i), value)


def seen(message):
    """A per-message apply function that touches the message, as real ones do."""
    return None if message.value() is None else None


with DAG("kafka_bench", schedule=None, start_date=datetime(2026, 1, 1), catchup=False,
         render_template_as_native_obj=True, max_active_tasks=1):
    produce = ProduceToTopicOperator(
        task_id="produce",
        topic="{{ dag_run.conf['topic'] }}",
        producer_function=messages,
        producer_function_args=["{{ dag_run.conf['n'] }}", "{{ dag_run.conf['size'] }}"],
        synchronous=False,
    )
    consume_apply = ConsumeFromTopicOperator(
        task_id="consume_apply",
        topics=["{{ dag_run.conf['topic'] }}"],
        apply_function=seen,
        max_messages=N,
        max_batch_size=1000,
        poll_timeout=10,
        kafka_config_id="kafka_apply",
    )
    consume_native = ConsumeFromTopicOperator(
        task_id="consume_native",
        topics=["{{ dag_run.conf['topic'] }}"],
        max_messages=N,
        max_batch_size=1000,
        poll_timeout=10,
        kafka_config_id="kafka_native",
    )
    produce >> consume_apply >> consume_native
