"""The Kafka provider's operators under their upstream names, plus the
``KafkaProduceOperator`` / ``KafkaConsumeOperator`` spellings used in blog
posts (one templated message produced; consumed messages returned as XCom).
Updraft's worker runs all of them natively in Rust.

The provider's classes changed between the versions that go with Airflow 2.10
(provider 1.10.6) and Airflow 3.1 (provider 2.x) while keeping their import
path: in 2.x the sensors are ``BaseSensorOperator``s (``timeout``, ``mode``,
...) and ``AwaitMessageSensor`` templates ``commit_offset``. The public classes
here are 1.10.6's; each carries ``_updraft_variants`` so that a DAG file of
dialect 3 instantiates the ``_...V3`` variant (provider 2.x: same class name, a
subclass of the public one). User subclasses always build on the public
(1.10.6) class.
"""
from .baseoperator import BaseOperator, checking_values
from .builtin import builtin
from .exceptions import AirflowException
from .sensors import BaseSensorOperator

_K = "airflow.providers.apache.kafka."
VALID_COMMIT_CADENCE = {"never", "end_of_batch", "end_of_operator"}
_BLUE = "#ffefeb"  # the provider's ui_color for its consumer operator and sensors


@builtin("kafka_produce_to_topic", _K + "operators.produce")
class ProduceToTopicOperator(BaseOperator):
    """Sends the (key, value) pairs yielded by ``producer_function`` to ``topic``."""

    template_fields = ("topic", "producer_function_args", "producer_function_kwargs", "kafka_config_id")

    def __init__(self, *, topic, producer_function, kafka_config_id="kafka_default",
                 producer_function_args=None, producer_function_kwargs=None, delivery_callback=None,
                 synchronous=True, poll_timeout=0, **kwargs):
        super().__init__(**kwargs)
        if not (callable(producer_function) or isinstance(producer_function, str)) and checking_values():
            raise AirflowException(
                f"producer_function must be a callable or a dotted-path string, got {type(producer_function)}"
            )
        self.topic = topic
        self.producer_function = producer_function
        self.kafka_config_id = kafka_config_id
        self.producer_function_args = producer_function_args or ()
        self.producer_function_kwargs = producer_function_kwargs or {}
        self.delivery_callback = delivery_callback
        self.synchronous = synchronous
        self.poll_timeout = poll_timeout


@builtin("kafka_consume_from_topic", _K + "operators.consume")
class ConsumeFromTopicOperator(BaseOperator):
    """Reads ``topics`` until the end of the log (or ``max_messages``), applying a function."""

    template_fields = ("topics", "apply_function_args", "apply_function_kwargs", "kafka_config_id")
    ui_color = _BLUE

    def __init__(self, *, topics, kafka_config_id="kafka_default", apply_function=None,
                 apply_function_batch=None, apply_function_args=None, apply_function_kwargs=None,
                 commit_cadence="end_of_operator", max_messages=None, max_batch_size=1000, poll_timeout=60,
                 **kwargs):
        super().__init__(**kwargs)
        if isinstance(topics, str):
            topics = [topics]
        if commit_cadence not in VALID_COMMIT_CADENCE and checking_values():
            raise AirflowException(
                f"commit_cadence must be one of {sorted(VALID_COMMIT_CADENCE)}. Got {commit_cadence}"
            )
        if apply_function and apply_function_batch and checking_values():
            raise AirflowException(
                "One of apply_function or apply_function_batch must be supplied, not both."
            )
        self.topics = topics
        self.kafka_config_id = kafka_config_id
        self.apply_function = apply_function
        self.apply_function_batch = apply_function_batch
        self.apply_function_args = apply_function_args or ()
        self.apply_function_kwargs = apply_function_kwargs or {}
        self.commit_cadence = commit_cadence
        self.max_messages = max_messages
        self.max_batch_size = max_batch_size
        self.poll_timeout = poll_timeout


@builtin("kafka_consume_from_topic", _K + "operators.consume", name="ConsumeFromTopicOperator")
class _ConsumeFromTopicOperatorV3(ConsumeFromTopicOperator):
    """Kafka provider 2.x (Airflow 3): can return the apply function's results as XCom."""

    def __init__(self, *, return_apply_function_results=False, **kwargs):
        super().__init__(**kwargs)
        self.return_apply_function_results = return_apply_function_results


ConsumeFromTopicOperator._updraft_variants = (ConsumeFromTopicOperator, _ConsumeFromTopicOperatorV3)


@builtin("kafka_await_message", _K + "sensors.kafka")
class AwaitMessageSensor(BaseOperator):
    """Defers until a message for which ``apply_function`` returns a truthy value arrives."""

    template_fields = ("topics", "apply_function", "apply_function_args", "apply_function_kwargs",
                       "kafka_config_id")
    ui_color = _BLUE

    def __init__(self, *, topics, apply_function, kafka_config_id="kafka_default", apply_function_args=None,
                 apply_function_kwargs=None, poll_timeout=1, poll_interval=5, xcom_push_key=None, **kwargs):
        super().__init__(**kwargs)
        self.topics = [topics] if isinstance(topics, str) else topics
        self.apply_function = apply_function
        self.kafka_config_id = kafka_config_id
        self.apply_function_args = apply_function_args
        self.apply_function_kwargs = apply_function_kwargs
        self.poll_timeout = poll_timeout
        self.poll_interval = poll_interval
        self.xcom_push_key = xcom_push_key


@builtin("kafka_await_message", _K + "sensors.kafka", name="AwaitMessageSensor")
class _AwaitMessageSensorV3(AwaitMessageSensor, BaseSensorOperator):
    """Kafka provider 2.x (Airflow 3): a BaseSensorOperator that also templates ``commit_offset``."""

    template_fields = AwaitMessageSensor.template_fields + ("commit_offset",)
    ui_color = _BLUE

    def __init__(self, *, commit_offset=True, **kwargs):
        super().__init__(**kwargs)
        self.commit_offset = commit_offset


AwaitMessageSensor._updraft_variants = (AwaitMessageSensor, _AwaitMessageSensorV3)


@builtin("kafka_await_message_trigger_function", _K + "sensors.kafka")
class AwaitMessageTriggerFunctionSensor(BaseOperator):
    """Calls ``event_triggered_function`` for each matching message, until the timeout."""

    template_fields = ("topics", "apply_function", "apply_function_args", "apply_function_kwargs",
                       "kafka_config_id")
    ui_color = _BLUE

    def __init__(self, *, topics, apply_function, event_triggered_function, kafka_config_id="kafka_default",
                 apply_function_args=None, apply_function_kwargs=None, poll_timeout=1, poll_interval=5,
                 **kwargs):
        super().__init__(**kwargs)
        if not callable(event_triggered_function) and checking_values():
            raise TypeError(
                f"parameter event_triggered_function is expected to be of type callable, "
                f"got {type(event_triggered_function)}"
            )
        self.topics = [topics] if isinstance(topics, str) else topics
        self.apply_function = apply_function
        self.event_triggered_function = event_triggered_function
        self.kafka_config_id = kafka_config_id
        self.apply_function_args = apply_function_args
        self.apply_function_kwargs = apply_function_kwargs
        self.poll_timeout = poll_timeout
        self.poll_interval = poll_interval


@builtin("kafka_await_message_trigger_function", _K + "sensors.kafka", name="AwaitMessageTriggerFunctionSensor")
class _AwaitMessageTriggerFunctionSensorV3(AwaitMessageTriggerFunctionSensor, BaseSensorOperator):
    """Kafka provider 2.x (Airflow 3): a BaseSensorOperator (``timeout``, ``mode``, ``poke_interval``, ...)."""

    ui_color = _BLUE


AwaitMessageTriggerFunctionSensor._updraft_variants = (AwaitMessageTriggerFunctionSensor,
                                                       _AwaitMessageTriggerFunctionSensorV3)


@builtin("kafka_produce", _K + "operators.kafka_produce")
class KafkaProduceOperator(BaseOperator):
    """Article spelling: produce one message (``value``, optional ``key``/``headers``) to ``topic``."""

    template_fields = ("topic", "value", "key", "headers", "kafka_config_id")

    def __init__(self, *, topic, value, key=None, headers=None, kafka_config_id="kafka_default",
                 synchronous=True, poll_timeout=0, **kwargs):
        super().__init__(**kwargs)
        self.topic = topic
        self.value = value
        self.key = key
        self.headers = headers
        self.kafka_config_id = kafka_config_id
        self.synchronous = synchronous
        self.poll_timeout = poll_timeout


@builtin("kafka_consume", _K + "operators.kafka_consume")
class KafkaConsumeOperator(BaseOperator):
    """Article spelling: consume from ``topics`` and return the messages as XCom."""

    template_fields = ("topics", "kafka_config_id")

    def __init__(self, *, topics, kafka_config_id="kafka_default", group_id=None, max_messages=None,
                 max_batch_size=1000, poll_timeout=5.0, commit_cadence="end_of_operator", apply_function=None,
                 **kwargs):
        super().__init__(**kwargs)
        if isinstance(topics, str):
            topics = [topics]
        if commit_cadence not in VALID_COMMIT_CADENCE and checking_values():
            raise AirflowException(
                f"commit_cadence must be one of {sorted(VALID_COMMIT_CADENCE)}. Got {commit_cadence}"
            )
        self.topics = topics
        self.kafka_config_id = kafka_config_id
        self.group_id = group_id
        self.max_messages = max_messages
        self.max_batch_size = max_batch_size
        self.poll_timeout = poll_timeout
        self.commit_cadence = commit_cadence
        self.apply_function = apply_function
