//! The baseline of benches/kafka: a plain rdkafka producer loop and consumer
//! loop, no Updraft around them. Produces N messages of S bytes to a topic,
//! flushes, then reads them back in a fresh consumer group, and prints the
//! rates as JSON.
//!
//!     cargo run --release -p updraft-kafka --example plain_loop -- BOOTSTRAP TOPIC [N] [SIZE]

use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(bootstrap), Some(topic)) = (args.get(1), args.get(2)) else {
        return Err("usage: plain_loop BOOTSTRAP TOPIC [N] [SIZE]".into());
    };
    let n: usize = args.get(3).map_or(Ok(100_000), |s| s.parse())?;
    let size: usize = args.get(4).map_or(Ok(200), |s| s.parse())?;
    let payload = vec![b'x'; size];

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .create()?;
    // Connected and the topic known before the clock starts, as the
    // operator's clock starts after it checked the topic exists.
    producer
        .client()
        .fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let t0 = Instant::now();
    let mut pending = Vec::with_capacity(n);
    for i in 0..n {
        let key = i.to_string();
        let mut record = FutureRecord::to(topic).key(&key).payload(&payload);
        loop {
            match producer.send_result(record) {
                Ok(f) => {
                    pending.push(f);
                    break;
                }
                Err((_, r)) => {
                    // Queue full: let deliveries drain.
                    record = r;
                    producer.poll(Duration::from_millis(1));
                }
            }
        }
    }
    let mut errors = 0;
    for f in pending {
        if !matches!(f.await, Ok(Ok(_))) {
            errors += 1;
        }
    }
    producer.flush(Duration::from_secs(30))?;
    let produce_s = t0.elapsed().as_secs_f64();

    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("plain-loop-{}", std::process::id()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()?;
    consumer.subscribe(&[topic])?;
    let t1 = Instant::now();
    let mut got = 0;
    while got < n {
        match tokio::time::timeout(Duration::from_secs(60), consumer.recv()).await {
            Ok(Ok(_)) => got += 1,
            Ok(Err(e)) => return Err(e.into()),
            Err(_) => return Err(format!("only {got} of {n} messages came back").into()),
        }
    }
    consumer.commit_consumer_state(rdkafka::consumer::CommitMode::Sync)?;
    let consume_s = t1.elapsed().as_secs_f64();
    println!(
        "{{\"messages\": {n}, \"size\": {size}, \"produce_s\": {produce_s:.4}, \"produce_msgs_per_s\": {:.0}, \"produce_errors\": {errors}, \"consume_s\": {consume_s:.4}, \"consume_msgs_per_s\": {:.0}}}",
        n as f64 / produce_s,
        n as f64 / consume_s
    );
    Ok(())
}
