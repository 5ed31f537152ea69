//! Lays out generated DAGs and prints median times (release build):
//!
//!   cargo run --release --offline --manifest-path benches/ui/layout/Cargo.toml
//!
//! Shapes: `wide` (20 tasks a layer, each fed by 3 pseudo-random tasks of the
//! previous 1–3 layers), `chain`, `fan` (a chain, one task feeding all of
//! it, one fed by all of it: the most dummy points). Engines: layout-rs
//! (only up to 200 tasks, 50 for `fan`: it takes 35 s at 300 wide tasks),
//! and our layered layout (`graph_layered.rs`).

#[allow(dead_code)]
#[path = "../../../../webserver/src/pages/graph_layout.rs"]
mod graph_layout;

use std::time::{Duration, Instant};

use graph_layout::{GraphLayout, GraphSpec};
use serde_json::{Value, json};

fn wide(tasks: usize, per_layer: usize) -> GraphSpec {
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |m: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % m as u64) as usize
    };
    let tasks: Vec<Value> = (0..tasks)
        .map(|i| {
            let layer = i / per_layer;
            let ups: Vec<String> = if layer == 0 {
                Vec::new()
            } else {
                (0..3)
                    .map(|k| {
                        let back = if k == 0 { 1 } else { 1 + next(layer.min(3)) };
                        format!("g{}.t{}", layer - back, next(per_layer))
                    })
                    .collect()
            };
            json!({"task_id": format!("g{layer}.t{}", i % per_layer),
                   "task_group": format!("g{layer}"),
                   "upstream_task_ids": ups, "task_type": "BashOperator"})
        })
        .collect();
    GraphSpec::from_serialized(Some(&json!({ "tasks": tasks })))
}

fn chain(tasks: usize) -> GraphSpec {
    let tasks: Vec<Value> = (0..tasks)
        .map(|i| {
            let ups: Vec<String> = if i == 0 {
                vec![]
            } else {
                vec![format!("t{}", i - 1)]
            };
            json!({"task_id": format!("t{i}"), "upstream_task_ids": ups})
        })
        .collect();
    GraphSpec::from_serialized(Some(&json!({ "tasks": tasks })))
}

/// The worst case for dummy points: a chain, with `start` feeding every
/// chain task and `end` fed by every one.
fn fan(tasks: usize) -> GraphSpec {
    let chain_len = tasks.saturating_sub(2);
    let mut list = vec![json!({"task_id": "start"})];
    for i in 0..chain_len {
        let mut ups = vec!["start".to_owned()];
        if i > 0 {
            ups.push(format!("c{}", i - 1));
        }
        list.push(json!({"task_id": format!("c{i}"), "upstream_task_ids": ups}));
    }
    let all: Vec<String> = (0..chain_len).map(|i| format!("c{i}")).collect();
    list.push(json!({"task_id": "end", "upstream_task_ids": all}));
    GraphSpec::from_serialized(Some(&json!({ "tasks": list })))
}

fn median(
    spec: &GraphSpec,
    runs: usize,
    f: fn(&GraphSpec) -> GraphLayout,
) -> (Duration, GraphLayout) {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let started = Instant::now();
        let l = f(spec);
        times.push(started.elapsed());
        last = Some(l);
    }
    times.sort();
    (times[runs / 2], last.unwrap_or_else(|| f(spec)))
}

/// Crossings between edges joining the same two columns (box order inverted).
fn crossings(l: &GraphLayout) -> usize {
    let at: std::collections::HashMap<&str, (f64, f64)> = l
        .nodes
        .iter()
        .map(|n| (n.task_id.as_str(), (n.x, n.y)))
        .collect();
    let mut by_cols: std::collections::HashMap<(i64, i64), Vec<(f64, f64)>> = Default::default();
    for e in &l.edges {
        let (a, b) = (at[e.from.as_str()], at[e.to.as_str()]);
        by_cols
            .entry((a.0 as i64, b.0 as i64))
            .or_default()
            .push((a.1, b.1));
    }
    let mut n = 0;
    for ends in by_cols.values() {
        for (i, p) in ends.iter().enumerate() {
            n += ends[i + 1..]
                .iter()
                .filter(|q| (p.0 - q.0) * (p.1 - q.1) < 0.0)
                .count();
        }
    }
    n
}

/// A bare SVG of a layout, to look at (LAYOUT_SVG_DIR=dir).
fn svg(l: &GraphLayout) -> String {
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{:.0}" height="{:.0}"><rect width="100%" height="100%" fill="white"/>"#,
        l.width, l.height
    );
    for e in &l.edges {
        out.push_str(&format!(
            r##"<path d="{}" fill="none" stroke="#888"/>"##,
            e.d
        ));
        if let Some((t, x, y)) = &e.label {
            out.push_str(&format!(
                r#"<text x="{x:.1}" y="{y:.1}" font-size="11" text-anchor="middle">{t}</text>"#
            ));
        }
    }
    for n in &l.nodes {
        out.push_str(&format!(
            r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="#eef" stroke="#336"/><text x="{:.1}" y="{:.1}" font-size="11">{}</text>"##,
            n.x, n.y, n.w, n.h, n.x + 6.0, n.y + 18.0, n.label
        ));
    }
    out + "</svg>"
}

fn main() {
    if let Ok(dir) = std::env::var("LAYOUT_SVG_DIR") {
        let mut w = wide(100, 20);
        w.edge_labels.push(graph_layout::SpecLabel {
            from: w.tasks[20].upstream_task_ids[0].clone(),
            to: w.tasks[20].task_id.clone(),
            label: "a label".to_owned(),
        });
        for (name, spec) in [("wide100", w), ("fan30", fan(30))] {
            let l = graph_layout::compute_layered(&spec);
            let _ = std::fs::write(format!("{dir}/{name}.svg"), svg(&l));
            if let Some(l) = graph_layout::compute_by_layout_rs(&spec) {
                let _ = std::fs::write(format!("{dir}/{name}-layout-rs.svg"), svg(&l));
            }
        }
        return;
    }
    println!("| DAG | tasks | edges | layout-rs | layered | crossings* layout-rs / layered |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for &n in &[12usize, 25, 50, 100, 200, 500, 1000, 2000, 5000] {
        for (name, spec) in [("wide", wide(n, 20)), ("chain", chain(n)), ("fan", fan(n))] {
            let runs = if n <= 1000 { 5 } else { 3 };
            let (t_new, l_new) = median(&spec, runs, graph_layout::compute_layered);
            let old = if n <= 200 && (name != "fan" || n <= 50) {
                let (t, l) = median(&spec, runs, |s| {
                    graph_layout::compute_by_layout_rs(s).unwrap_or_else(|| GraphLayout {
                        width: 0.0,
                        height: 0.0,
                        nodes: Vec::new(),
                        edges: Vec::new(),
                    })
                });
                (
                    format!("{:.1} ms", t.as_secs_f64() * 1e3),
                    crossings(&l).to_string(),
                )
            } else {
                ("–".to_owned(), "–".to_owned())
            };
            println!(
                "| {name} | {n} | {} | {} | {:.1} ms | {} / {} |",
                l_new.edges.len(),
                old.0,
                t_new.as_secs_f64() * 1e3,
                old.1,
                crossings(&l_new)
            );
        }
    }
}
