//! The graph view's layout, without I/O: tasks as boxes in layers, left to
//! right, and edges as curved paths. Small DAGs are placed by `layout-rs` (a
//! Rust port of Graphviz dot's layered algorithm: ranking, crossing
//! reduction, Brandes–Köpf placement, long edges routed through dummy nodes,
//! labelled edges through a label node); larger ones by our own layered
//! layout (`graph_layered.rs`), which scales to thousands of tasks. A
//! layout depends only on the DAG version, so it is computed once per
//! version and kept in a small in-process cache.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use layout::core::base::Orientation;
use layout::core::format::{ClipHandle, RenderBackend};
use layout::core::geometry::Point;
use layout::core::style::StyleAttr;
use layout::std_shapes::shapes::{Arrow, Element, ShapeKind};
use layout::topo::layout::VisualGraph;
use serde::Deserialize;
use serde_json::Value;

// A sibling file rather than a child directory, so benches/ui/layout can
// include both files as they are.
#[path = "graph_layered.rs"]
mod layered;

/// The parts of a serialized DAG the graph reads (docs/serialized-dag.md).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct GraphSpec {
    #[serde(default)]
    pub tasks: Vec<SpecTask>,
    #[serde(default)]
    pub edge_labels: Vec<SpecLabel>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SpecTask {
    pub task_id: String,
    #[serde(default)]
    pub upstream_task_ids: Vec<String>,
    #[serde(default)]
    pub task_group: Option<String>,
    #[serde(default)]
    pub task_type: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SpecLabel {
    pub from: String,
    pub to: String,
    pub label: String,
}

impl GraphSpec {
    /// Reads the spec from a serialized DAG; an unreadable one has no tasks.
    pub fn from_serialized(data: Option<&Value>) -> Self {
        data.and_then(|v| Self::deserialize(v).ok())
            .unwrap_or_default()
    }
}

/// A task's box, in SVG user units (origin top left).
#[derive(Debug, Clone, PartialEq)]
pub struct NodeBox {
    pub task_id: String,
    /// The task id without its innermost group's prefix.
    pub label: String,
    pub operator: String,
    pub group: Option<String>,
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

/// An edge: its SVG path and, if it has one, its label's centre.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgePath {
    pub from: String,
    pub to: String,
    pub d: String,
    pub label: Option<(String, f64, f64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GraphLayout {
    pub width: f64,
    pub height: f64,
    pub nodes: Vec<NodeBox>,
    pub edges: Vec<EdgePath>,
}

const NODE_H: f64 = 44.0;
/// Above this many points (tasks, plus one dummy point per layer a long
/// edge crosses) our layered layout (`graph_layered.rs`) is used.
/// layout-rs's cost climbs steeply with them, not only with tasks (release
/// build; `wide`: 20 tasks a layer, 3 upstreams from the 1–3 layers before:
/// 50 tasks 37 ms, 100 tasks 0.25–1.2 s, 300 tasks 35 s; `fan`, a chain with
/// one task feeding all of it and one fed by all of it: 25 tasks 0.44 s),
/// while ours lays out 2,000 such tasks in under 0.4 s (benches/ui/layout).
const MAX_LAYOUT_RS_POINTS: usize = 120;
const MARGIN: f64 = 16.0;

/// A box wide enough for the longer of its two lines (7 px a character at
/// the page's 12 px monospace-ish font), within bounds.
fn node_width(label: &str, operator: &str) -> f64 {
    let chars = label.chars().count().max(operator.chars().count()) as f64;
    (chars * 7.2 + 24.0).clamp(90.0, 320.0)
}

fn short_label(task_id: &str, group: Option<&str>) -> String {
    group
        .and_then(|g| task_id.strip_prefix(&format!("{g}.")))
        .unwrap_or(task_id)
        .to_owned()
}

/// Records what layout-rs would draw: boxes by node index (carried in
/// `properties`), arrows by edge index.
#[derive(Default)]
struct Recorder {
    rects: HashMap<usize, (Point, Point)>,
    arrows: HashMap<usize, Vec<(Point, Point)>>,
}

impl RenderBackend for Recorder {
    fn draw_rect(
        &mut self,
        xy: Point,
        size: Point,
        _look: &StyleAttr,
        properties: Option<String>,
        _clip: Option<ClipHandle>,
    ) {
        if let Some(i) = properties.and_then(|p| p.parse().ok()) {
            self.rects.insert(i, (xy, size));
        }
    }
    fn draw_line(&mut self, _: Point, _: Point, _: &StyleAttr, _: Option<String>) {}
    fn draw_circle(&mut self, _: Point, _: Point, _: &StyleAttr, _: Option<String>) {}
    fn draw_text(&mut self, _: Point, _: &str, _: &StyleAttr) {}
    fn draw_arrow(
        &mut self,
        path: &[(Point, Point)],
        _dashed: bool,
        _head: (bool, bool),
        _look: &StyleAttr,
        properties: Option<String>,
        _text: &str,
    ) {
        if let Some(i) = properties.and_then(|p| p.parse().ok()) {
            self.arrows.insert(i, path.to_vec());
        }
    }
    fn create_clip(&mut self, _: Point, _: Point, _: usize) -> ClipHandle {
        0
    }
}

/// The SVG path of layout-rs's curve: an exit vector, then entry vectors
/// (`M p0 C c0, c1 p1 S c2 p2 …`), as its own SVG backend writes it.
fn svg_path(path: &[(Point, Point)], shift: Point) -> String {
    let p = |pt: Point| format!("{:.1} {:.1}", pt.x - shift.x, pt.y - shift.y);
    let Some(((start, c0), rest)) = path.split_first().map(|(a, r)| (*a, r)) else {
        return String::new();
    };
    let Some(((c1, p1), rest)) = rest.split_first().map(|(a, r)| (*a, r)) else {
        return format!("M {}", p(start));
    };
    let mut d = format!("M {} C {}, {}, {}", p(start), p(c0), p(c1), p(p1));
    for (c, pt) in rest {
        d.push_str(&format!(" S {}, {}", p(*c), p(*pt)));
    }
    d
}

/// An edge between two known tasks, with its label.
struct EdgeSpec<'a> {
    from: usize,
    to: usize,
    label: Option<&'a str>,
}

/// The boxes (unplaced) and edges of a spec; edges to unknown tasks are
/// dropped.
fn prepare(spec: &GraphSpec) -> (Vec<NodeBox>, Vec<EdgeSpec<'_>>) {
    let index: HashMap<&str, usize> = spec
        .tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.task_id.as_str(), i))
        .collect();
    let labels: HashMap<(&str, &str), &str> = spec
        .edge_labels
        .iter()
        .map(|l| ((l.from.as_str(), l.to.as_str()), l.label.as_str()))
        .collect();
    let mut edges = Vec::new();
    let mut seen = HashSet::new();
    for (to, t) in spec.tasks.iter().enumerate() {
        for up in &t.upstream_task_ids {
            let Some(&from) = index.get(up.as_str()) else {
                continue;
            };
            if from != to && seen.insert((from, to)) {
                edges.push(EdgeSpec {
                    from,
                    to,
                    label: labels.get(&(up.as_str(), t.task_id.as_str())).copied(),
                });
            }
        }
    }
    let nodes: Vec<NodeBox> = spec
        .tasks
        .iter()
        .map(|t| {
            let label = short_label(&t.task_id, t.task_group.as_deref());
            let operator = t.task_type.clone().unwrap_or_default();
            NodeBox {
                w: node_width(&label, &operator),
                h: NODE_H,
                x: 0.0,
                y: 0.0,
                task_id: t.task_id.clone(),
                label,
                operator,
                group: t.task_group.clone(),
            }
        })
        .collect();
    (nodes, edges)
}

/// Lays out the DAG: layout-rs for small layered graphs, else (or if it
/// fails) our own layered layout (`graph_layered.rs`), which scales.
pub fn compute(spec: &GraphSpec) -> GraphLayout {
    let (nodes, edges) = prepare(spec);
    if nodes.is_empty() || layered::points(nodes.len(), &edges) > MAX_LAYOUT_RS_POINTS {
        return layered::place(nodes, &edges);
    }
    by_layout_rs(&nodes, &edges).unwrap_or_else(|| layered::place(nodes, &edges))
}

/// layout-rs's layout whatever the size; `None` for an empty DAG or one it
/// cannot place.
#[allow(dead_code)] // only benches/ui/layout calls it, to compare engines
pub fn compute_by_layout_rs(spec: &GraphSpec) -> Option<GraphLayout> {
    let (nodes, edges) = prepare(spec);
    if nodes.is_empty() {
        return None;
    }
    by_layout_rs(&nodes, &edges)
}

fn by_layout_rs(nodes: &[NodeBox], edges: &[EdgeSpec<'_>]) -> Option<GraphLayout> {
    // layout-rs asserts on what it considers impossible; a DAG it cannot
    // place still gets a layout rather than a 500.
    std::panic::catch_unwind(|| place_with_layout_rs(nodes, edges))
        .ok()
        .flatten()
}

fn place_with_layout_rs(nodes: &[NodeBox], edges: &[EdgeSpec<'_>]) -> Option<GraphLayout> {
    let mut vg = VisualGraph::new(Orientation::LeftToRight);
    let handles: Vec<_> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            vg.add_node(Element::create_with_properties(
                ShapeKind::new_box(&n.task_id),
                StyleAttr::simple(),
                Orientation::LeftToRight,
                Point::new(n.w, n.h),
                i.to_string(),
            ))
        })
        .collect();
    for (i, e) in edges.iter().enumerate() {
        vg.add_edge(
            Arrow::simple_with_properties(e.label.unwrap_or(""), i.to_string()),
            handles[e.from],
            handles[e.to],
        );
    }
    let mut rec = Recorder::default();
    vg.do_it(false, false, false, &mut rec);
    // Label nodes are created in the order of the labelled edges, after the
    // tasks; their centres are where the labels go.
    let mut label_at = Vec::new();
    for h in vg.iter_nodes().skip(nodes.len()) {
        if let ShapeKind::Connector(Some(text)) = &vg.element(h).shape {
            label_at.push((text.clone(), vg.pos(h).middle()));
        }
    }
    let mut out_nodes = Vec::with_capacity(nodes.len());
    for (i, n) in nodes.iter().enumerate() {
        let (xy, size) = rec.rects.get(&i)?;
        out_nodes.push(NodeBox {
            x: xy.x,
            y: xy.y,
            w: size.x,
            h: size.y,
            ..n.clone()
        });
    }
    let mut labelled = label_at.into_iter();
    let mut raw_edges = Vec::with_capacity(edges.len());
    for (i, e) in edges.iter().enumerate() {
        let path = rec.arrows.get(&i).cloned().unwrap_or_default();
        let label = match e.label {
            Some(text) if !text.is_empty() => labelled.next().map(|(t, at)| (t, at.x, at.y)),
            _ => None,
        };
        raw_edges.push((e, path, label));
    }
    // Shift everything so the drawing starts at (MARGIN, MARGIN).
    let mut min = Point::new(f64::MAX, f64::MAX);
    let mut max = Point::new(f64::MIN, f64::MIN);
    let mut grow = |p: Point| {
        min = Point::new(min.x.min(p.x), min.y.min(p.y));
        max = Point::new(max.x.max(p.x), max.y.max(p.y));
    };
    for n in &out_nodes {
        grow(Point::new(n.x, n.y));
        grow(Point::new(n.x + n.w, n.y + n.h));
    }
    for (_, path, label) in &raw_edges {
        for (a, b) in path {
            grow(*a);
            grow(*b);
        }
        if let Some((t, x, y)) = label {
            let half = t.chars().count() as f64 * 3.6 + 6.0;
            grow(Point::new(x - half, y - 10.0));
            grow(Point::new(x + half, y + 10.0));
        }
    }
    let shift = Point::new(min.x - MARGIN, min.y - MARGIN);
    for n in &mut out_nodes {
        n.x -= shift.x;
        n.y -= shift.y;
    }
    let out_edges = raw_edges
        .into_iter()
        .map(|(e, path, label)| EdgePath {
            from: nodes[e.from].task_id.clone(),
            to: nodes[e.to].task_id.clone(),
            d: svg_path(&path, shift),
            label: label.map(|(t, x, y)| (t, x - shift.x, y - shift.y)),
        })
        .collect();
    Some(GraphLayout {
        width: max.x - min.x + 2.0 * MARGIN,
        height: max.y - min.y + 2.0 * MARGIN,
        nodes: out_nodes,
        edges: out_edges,
    })
}

/// Our layered layout whatever the size: fast (about 0.1 s for 1,000 tasks
/// in a release build), so it is what a page shows while layout-rs runs.
pub fn compute_layered(spec: &GraphSpec) -> GraphLayout {
    let (nodes, edges) = prepare(spec);
    layered::place(nodes, &edges)
}

/// The former fallback, kept as the baseline the layered layout's crossings
/// are compared against: each task in the column of its longest upstream
/// path, in DAG order, straight edges.
#[cfg(test)]
fn place_plainly(mut nodes: Vec<NodeBox>, edges: &[EdgeSpec<'_>]) -> GraphLayout {
    let mut rank = vec![0usize; nodes.len()];
    // Bounded relaxation: at most n rounds, so a cycle cannot loop forever.
    for _ in 0..nodes.len() {
        let mut changed = false;
        for e in edges {
            if rank[e.to] < rank[e.from] + 1 && rank[e.from] < nodes.len() {
                rank[e.to] = rank[e.from] + 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let mut per_rank: HashMap<usize, usize> = HashMap::new();
    let (mut width, mut height) = (0.0f64, 0.0f64);
    for (i, n) in nodes.iter_mut().enumerate() {
        let row = per_rank.entry(rank[i]).or_default();
        n.x = MARGIN + rank[i] as f64 * 360.0;
        n.y = MARGIN + *row as f64 * (NODE_H + 24.0);
        *row += 1;
        width = width.max(n.x + n.w + MARGIN);
        height = height.max(n.y + n.h + MARGIN);
    }
    let edges = edges
        .iter()
        .map(|e| {
            let (a, b) = (&nodes[e.from], &nodes[e.to]);
            let (x1, y1, x2, y2) = (a.x + a.w, a.y + a.h / 2.0, b.x, b.y + b.h / 2.0);
            EdgePath {
                from: a.task_id.clone(),
                to: b.task_id.clone(),
                d: format!("M {x1:.1} {y1:.1} L {x2:.1} {y2:.1}"),
                label: e
                    .label
                    .map(|t| (t.to_owned(), (x1 + x2) / 2.0, (y1 + y2) / 2.0)),
            }
        })
        .collect();
    GraphLayout {
        width,
        height,
        nodes,
        edges,
    }
}

/// Layouts by DAG version id. Bounded: when full, it is emptied (versions
/// change rarely; recomputing a few layouts is cheap next to a leak).
const CACHE_CAP: usize = 256;

fn cache() -> &'static Mutex<HashMap<i64, Arc<GraphLayout>>> {
    static CACHE: OnceLock<Mutex<HashMap<i64, Arc<GraphLayout>>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

pub fn cached(version_id: i64) -> Option<Arc<GraphLayout>> {
    cache()
        .lock()
        .ok()
        .and_then(|c| c.get(&version_id).cloned())
}

pub fn remember(version_id: i64, layout: Arc<GraphLayout>) {
    if let Ok(mut c) = cache().lock() {
        if c.len() >= CACHE_CAP {
            c.clear();
        }
        c.insert(version_id, layout);
    }
}

/// Versions whose layout-rs layout is being computed: one computation per
/// version at a time, however many pages ask.
fn in_flight() -> &'static Mutex<HashSet<i64>> {
    static IN_FLIGHT: OnceLock<Mutex<HashSet<i64>>> = OnceLock::new();
    IN_FLIGHT.get_or_init(|| Mutex::new(HashSet::new()))
}

/// Claims the computation of a version's layout (`false`: already running).
pub fn start_computing(version_id: i64) -> bool {
    in_flight()
        .lock()
        .map(|mut s| s.insert(version_id))
        .unwrap_or(false)
}

pub fn done_computing(version_id: i64) {
    if let Ok(mut s) = in_flight().lock() {
        s.remove(&version_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec() -> GraphSpec {
        GraphSpec::from_serialized(Some(&json!({
            "tasks": [
                {"task_id": "start", "task_type": "EmptyOperator"},
                {"task_id": "g.a", "upstream_task_ids": ["start"], "task_group": "g", "task_type": "BashOperator"},
                {"task_id": "g.b", "upstream_task_ids": ["start"], "task_group": "g", "task_type": "BashOperator"},
                {"task_id": "end", "upstream_task_ids": ["g.a", "g.b", "start", "missing"], "task_type": "EmptyOperator"}
            ],
            "edge_labels": [{"from": "g.a", "to": "end", "label": "yes"}]
        })))
    }

    fn node<'a>(l: &'a GraphLayout, id: &str) -> &'a NodeBox {
        l.nodes.iter().find(|n| n.task_id == id).expect("node")
    }

    // Invariant: layers run left to right: every upstream box ends before
    // its downstream box begins, and boxes do not overlap.
    #[test]
    fn layers_left_to_right() {
        let l = compute(&spec());
        assert_eq!(l.nodes.len(), 4);
        assert_eq!(l.edges.len(), 5, "the edge to an unknown task is dropped");
        for e in &l.edges {
            let (a, b) = (node(&l, &e.from), node(&l, &e.to));
            assert!(a.x + a.w <= b.x, "{} before {}: {a:?} {b:?}", e.from, e.to);
            assert!(e.d.starts_with("M "), "{}", e.d);
        }
        for a in &l.nodes {
            assert!(a.x >= 0.0 && a.y >= 0.0 && a.x + a.w <= l.width && a.y + a.h <= l.height);
            for b in &l.nodes {
                let apart =
                    a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
                assert!(a.task_id == b.task_id || apart, "{a:?} overlaps {b:?}");
            }
        }
        assert_eq!(node(&l, "g.a").label, "a");
        assert_eq!(node(&l, "g.a").operator, "BashOperator");
    }

    // Invariant: a labelled edge carries its label, placed between its ends.
    #[test]
    fn edge_labels_between_their_ends() {
        let l = compute(&spec());
        let e = l
            .edges
            .iter()
            .find(|e| e.from == "g.a" && e.to == "end")
            .expect("edge");
        let (text, x, _) = e.label.clone().expect("label");
        assert_eq!(text, "yes");
        let (a, b) = (node(&l, "g.a"), node(&l, "end"));
        assert!(a.x + a.w <= x && x <= b.x, "{x} between {a:?} and {b:?}");
        assert!(l.edges.iter().filter(|e| e.label.is_some()).count() == 1);
    }

    #[test]
    fn fallback_is_layered_too() {
        let s = spec();
        let nodes = compute(&s).nodes;
        let edges = [EdgeSpec {
            from: 0,
            to: 3,
            label: Some("x"),
        }];
        let l = place_plainly(nodes, &edges);
        assert!(node(&l, "start").x < node(&l, "end").x);
        assert_eq!(l.edges[0].label.as_ref().map(|x| x.0.as_str()), Some("x"));
    }

    // Invariant: a wide DAG (120 tasks in 10 groups, each task fed by up to
    // three tasks of the layer before) is still layered.
    #[test]
    fn wide_dag_is_layered() {
        let mut tasks = Vec::new();
        for i in 0..120usize {
            let layer = i / 12;
            let ups: Vec<String> = if layer == 0 {
                Vec::new()
            } else {
                (0..3)
                    .map(|k| format!("g{}.t{}", layer - 1, (i * 7 + k * 5) % 12))
                    .collect()
            };
            tasks.push(json!({
                "task_id": format!("g{layer}.t{}", i % 12),
                "task_group": format!("g{layer}"),
                "upstream_task_ids": ups,
                "task_type": "BashOperator",
            }));
        }
        let spec = GraphSpec::from_serialized(Some(&json!({ "tasks": tasks })));
        let started = std::time::Instant::now();
        let l = compute(&spec);
        eprintln!("120-task wide layout: {:?}", started.elapsed());
        assert_eq!(l.nodes.len(), 120);
        for e in &l.edges {
            let (a, b) = (node(&l, &e.from), node(&l, &e.to));
            assert!(a.x + a.w <= b.x, "{} before {}", e.from, e.to);
        }
    }

    // Invariant: a DAG too large for layout-rs gets the layered layout:
    // curved edges, layers left to right.
    #[test]
    fn large_dag_gets_the_layered_layout() {
        let tasks: Vec<Value> = (0..MAX_LAYOUT_RS_POINTS + 50)
            .map(|i| {
                let ups: Vec<String> = if i >= 3 {
                    vec![format!("t{}", i - 3)]
                } else {
                    Vec::new()
                };
                json!({"task_id": format!("t{i}"), "upstream_task_ids": ups})
            })
            .collect();
        let l = compute(&GraphSpec::from_serialized(Some(
            &json!({ "tasks": tasks }),
        )));
        assert_eq!(l.nodes.len(), MAX_LAYOUT_RS_POINTS + 50);
        assert!(l.edges.iter().all(|e| e.d.contains(" C ")), "curved edges");
        for e in &l.edges {
            assert!(node(&l, &e.from).x + node(&l, &e.from).w <= node(&l, &e.to).x);
        }
        // Three chains side by side: three boxes in each column.
        let first = node(&l, "t0").x;
        assert_eq!(l.nodes.iter().filter(|n| n.x == first).count(), 3);
    }

    // Invariant: a small DAG with many long edges (layout-rs took 0.44 s on
    // this shape at 25 tasks) skips layout-rs: our paths, with their
    // straight runs, and none of layout-rs's smooth-curve (`S`) segments.
    #[test]
    fn few_tasks_with_long_edges_skip_layout_rs() {
        let mut tasks = vec![json!({"task_id": "start"})];
        for i in 0..18 {
            let mut ups = vec!["start".to_owned()];
            if i > 0 {
                ups.push(format!("c{}", i - 1));
            }
            tasks.push(json!({"task_id": format!("c{i}"), "upstream_task_ids": ups}));
        }
        let spec = GraphSpec::from_serialized(Some(&json!({ "tasks": tasks })));
        let (nodes, edges) = prepare(&spec);
        assert!(layered::points(nodes.len(), &edges) > MAX_LAYOUT_RS_POINTS);
        let l = compute(&spec);
        assert_eq!(l.nodes.len(), 19);
        assert!(
            l.edges
                .iter()
                .all(|e| e.d.contains(" L ") && !e.d.contains(" S "))
        );
    }

    #[test]
    fn empty_dag_has_an_empty_layout() {
        let l = compute(&GraphSpec::default());
        assert!(l.nodes.is_empty() && l.edges.is_empty());
    }
}
