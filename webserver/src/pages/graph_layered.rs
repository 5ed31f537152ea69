//! A layered (Sugiyama-style) layout that scales to thousands of tasks, for
//! DAGs too large for layout-rs: longest-path layers, long edges through
//! dummy points (at most MAX_DUMMIES; beyond, the longest edges go
//! straight), barycentre sweeps and transposition of neighbours to reduce
//! crossings (keeping the order with the fewest, counted exactly), then
//! each layer's boxes pulled towards their neighbours by isotonic
//! regression (no overlaps, order kept). Every phase is near linear in
//! tasks + edges + dummy points. ADR 0012 and benches/ui/layout: figures.

use std::collections::VecDeque;

use super::{EdgePath, EdgeSpec, GraphLayout, MARGIN, NodeBox};

/// Gap between layers, widened for a layer whose edges carry labels.
const LAYER_GAP: f64 = 90.0;
/// Vertical space between two boxes, and next to a dummy point.
const BOX_SEP: f64 = 24.0;
const DUMMY_SEP: f64 = 10.0;
/// Crossing-reduction rounds (each a sweep down and a sweep up); stops
/// earlier when rounds stop improving.
const SWEEPS: usize = 12;
const PATIENCE: usize = 3;
const TRANSPOSE_PASSES: usize = 4;
/// Coordinate rounds (each pulls every layer towards both neighbours).
const PLACE_ROUNDS: usize = 8;
/// Bound on dummy points, so memory and time stay bounded (a task feeding
/// every task of a long chain would need quadratically many).
const MAX_DUMMIES: usize = 100_000;

/// Layers by longest upstream path (Kahn's order). A cycle, impossible in a
/// valid DAG, is broken at its first unplaced task so every task gets a layer.
fn layers_of(n: usize, edges: &[EdgeSpec<'_>]) -> Vec<usize> {
    let mut indeg = vec![0usize; n];
    let mut out = vec![Vec::new(); n];
    for e in edges {
        indeg[e.to] += 1;
        out[e.from].push(e.to);
    }
    let mut rank = vec![0usize; n];
    let mut done = vec![false; n];
    let mut queue: VecDeque<usize> = (0..n).filter(|&v| indeg[v] == 0).collect();
    let mut next_unplaced = 0;
    loop {
        while let Some(v) = queue.pop_front() {
            if done[v] {
                continue;
            }
            done[v] = true;
            for &w in &out[v] {
                if done[w] {
                    continue;
                }
                rank[w] = rank[w].max(rank[v] + 1);
                indeg[w] = indeg[w].saturating_sub(1);
                if indeg[w] == 0 {
                    queue.push_back(w);
                }
            }
        }
        while next_unplaced < n && done[next_unplaced] {
            next_unplaced += 1;
        }
        if next_unplaced == n {
            return rank;
        }
        queue.push_back(next_unplaced);
    }
}

/// The layered graph: tasks, then dummy points; `up`/`down` link vertices of
/// adjacent layers; `chains` lists each edge's vertices (`None`: an edge
/// against the layering, only from a cycle, drawn straight).
struct Layered {
    rank: Vec<usize>,
    up: Vec<Vec<usize>>,
    down: Vec<Vec<usize>>,
    chains: Vec<Option<Vec<usize>>>,
    layers: Vec<Vec<usize>>,
}

fn build(n: usize, edges: &[EdgeSpec<'_>]) -> Layered {
    let mut rank = layers_of(n, edges);
    let mut up = vec![Vec::new(); n];
    let mut down = vec![Vec::new(); n];
    let mut chains = Vec::with_capacity(edges.len());
    let min_direct_span = direct_span(edges, &rank);
    for e in edges {
        let (ra, rb) = (rank[e.from], rank[e.to]);
        if rb <= ra || rb - ra >= min_direct_span {
            chains.push(None);
            continue;
        }
        let mut chain = vec![e.from];
        for r in ra + 1..rb {
            rank.push(r);
            up.push(Vec::new());
            down.push(Vec::new());
            chain.push(rank.len() - 1);
        }
        chain.push(e.to);
        for w in chain.windows(2) {
            down[w[0]].push(w[1]);
            up[w[1]].push(w[0]);
        }
        chains.push(Some(chain));
    }
    let layers = initial_order(n, &rank, &down);
    Layered {
        rank,
        up,
        down,
        chains,
        layers,
    }
}

/// How many points the layered graph has: tasks, plus a dummy point for
/// each layer a long edge crosses (the size layout-rs's cost follows).
pub(super) fn points(n: usize, edges: &[EdgeSpec<'_>]) -> usize {
    let rank = layers_of(n, edges);
    n + edges
        .iter()
        .map(|e| rank[e.to].saturating_sub(rank[e.from]).saturating_sub(1))
        .sum::<usize>()
}

/// The shortest span (in layers) of an edge drawn straight rather than
/// through dummy points: no limit unless the dummies would pass MAX_DUMMIES
/// (a task feeding every task of a long chain needs quadratically many),
/// then the longest edges go straight.
fn direct_span(edges: &[EdgeSpec<'_>], rank: &[usize]) -> usize {
    let mut spans: Vec<usize> = edges
        .iter()
        .map(|e| rank[e.to].saturating_sub(rank[e.from]))
        .filter(|&s| s > 1)
        .collect();
    spans.sort_unstable_by(|a, b| b.cmp(a));
    let mut total: usize = spans.iter().map(|s| s - 1).sum();
    let mut limit = usize::MAX;
    for s in spans {
        if total <= MAX_DUMMIES {
            break;
        }
        total -= s - 1;
        limit = s;
    }
    limit
}

/// A first order per layer: depth-first from the tasks in their DAG order,
/// so a task's downstream start out near each other.
fn initial_order(n: usize, rank: &[usize], down: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let depth = rank.iter().max().map_or(0, |m| m + 1);
    let mut layers = vec![Vec::new(); depth];
    let mut seen = vec![false; rank.len()];
    let mut stack = Vec::new();
    for start in 0..n {
        stack.push(start);
        while let Some(v) = stack.pop() {
            if std::mem::replace(&mut seen[v], true) {
                continue;
            }
            layers[rank[v]].push(v);
            stack.extend(down[v].iter().rev().filter(|&&w| !seen[w]));
        }
    }
    layers
}

/// Crossings between two adjacent layers, by counting inversions with a
/// Fenwick tree (O(E log V)).
fn crossings_between(upper: &[usize], down: &[Vec<usize>], pos: &[usize], lower_len: usize) -> u64 {
    let mut pairs: Vec<(usize, usize)> = upper
        .iter()
        .flat_map(|&u| down[u].iter().map(move |&v| (pos[u], pos[v])))
        .collect();
    pairs.sort_unstable();
    let mut tree = vec![0u64; lower_len + 1];
    let mut crossings = 0u64;
    for (seen, &(_, p)) in pairs.iter().enumerate() {
        // Edges already seen that end strictly below p cross this one.
        let mut at_or_before = 0;
        let mut i = p + 1;
        while i > 0 {
            at_or_before += tree[i];
            i &= i - 1;
        }
        crossings += seen as u64 - at_or_before;
        let mut i = p + 1;
        while i <= lower_len {
            tree[i] += 1;
            i += i & i.wrapping_neg();
        }
    }
    crossings
}

fn crossings(g: &Layered, pos: &[usize]) -> u64 {
    g.layers
        .windows(2)
        .map(|w| crossings_between(&w[0], &g.down, pos, w[1].len()))
        .sum()
}

fn positions(g: &Layered) -> Vec<usize> {
    let mut pos = vec![0; g.rank.len()];
    for layer in &g.layers {
        for (i, &v) in layer.iter().enumerate() {
            pos[v] = i;
        }
    }
    pos
}

/// Reorders a layer by the mean position of its neighbours in the layer
/// just fixed; a vertex with none keeps its place. Stable, so ties keep
/// their order.
fn sort_by_barycentre(layer: &mut [usize], neighbours: &[Vec<usize>], pos: &mut [usize]) {
    let mut keyed: Vec<(f64, usize)> = layer
        .iter()
        .map(|&v| {
            let ns = &neighbours[v];
            let key = if ns.is_empty() {
                pos[v] as f64
            } else {
                ns.iter().map(|&u| pos[u] as f64).sum::<f64>() / ns.len() as f64
            };
            (key, v)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (i, (_, v)) in keyed.into_iter().enumerate() {
        layer[i] = v;
        pos[v] = i;
    }
}

/// Pairs (a of `left`, b of `right`) with a after b: the crossings between
/// two neighbouring vertices' edges to one layer, by a merge over sorted
/// positions (linear, so a wide fan costs no more than its edges).
fn pair_crossings(left: &[usize], right: &[usize]) -> u64 {
    let (mut j, mut n) = (0, 0u64);
    for &a in left {
        while j < right.len() && right[j] < a {
            j += 1;
        }
        n += j as u64;
    }
    n
}

/// Sorted positions of a vertex's neighbours on one side.
fn sorted_positions(ns: &[usize], pos: &[usize]) -> Vec<usize> {
    let mut p: Vec<usize> = ns.iter().map(|&u| pos[u]).collect();
    p.sort_unstable();
    p
}

/// Swaps neighbours in a layer while that lowers the crossings with both
/// adjacent layers (dot's "transpose"); a few passes at most.
fn transpose(g: &mut Layered, pos: &mut [usize]) {
    for _ in 0..TRANSPOSE_PASSES {
        let mut improved = false;
        for r in 0..g.layers.len() {
            for i in 1..g.layers[r].len() {
                let (u, v) = (g.layers[r][i - 1], g.layers[r][i]);
                let (uu, vu) = (
                    sorted_positions(&g.up[u], pos),
                    sorted_positions(&g.up[v], pos),
                );
                let (ud, vd) = (
                    sorted_positions(&g.down[u], pos),
                    sorted_positions(&g.down[v], pos),
                );
                let now = pair_crossings(&uu, &vu) + pair_crossings(&ud, &vd);
                let swapped = pair_crossings(&vu, &uu) + pair_crossings(&vd, &ud);
                if swapped < now {
                    g.layers[r].swap(i - 1, i);
                    pos[u] = i;
                    pos[v] = i - 1;
                    improved = true;
                }
            }
        }
        if !improved {
            break;
        }
    }
}

/// Barycentre sweeps down and up, each followed by transposition, keeping
/// the order with fewest crossings.
fn reduce_crossings(g: &mut Layered) {
    let mut pos = positions(g);
    let mut best = crossings(g, &pos);
    let mut best_layers = g.layers.clone();
    let mut stale = 0;
    for _ in 0..SWEEPS {
        if best == 0 || stale >= PATIENCE {
            break;
        }
        for r in 1..g.layers.len() {
            sort_by_barycentre(&mut g.layers[r], &g.up, &mut pos);
        }
        for r in (0..g.layers.len().saturating_sub(1)).rev() {
            sort_by_barycentre(&mut g.layers[r], &g.down, &mut pos);
        }
        transpose(g, &mut pos);
        let now = crossings(g, &pos);
        if now < best {
            best = now;
            best_layers.clone_from(&g.layers);
            stale = 0;
        } else {
            stale += 1;
        }
    }
    g.layers = best_layers;
}

/// Isotonic regression (pool adjacent violators): the non-decreasing
/// sequence closest to `targets` in least squares.
fn pava(targets: &[f64]) -> Vec<f64> {
    // Blocks of (sum, count); a block's value is its mean.
    let mut blocks: Vec<(f64, usize)> = Vec::with_capacity(targets.len());
    for &t in targets {
        blocks.push((t, 1));
        while blocks.len() > 1 {
            let (s1, c1) = blocks[blocks.len() - 1];
            let (s0, c0) = blocks[blocks.len() - 2];
            if s0 / c0 as f64 <= s1 / c1 as f64 {
                break;
            }
            blocks.pop();
            let last = blocks.len() - 1;
            blocks[last] = (s0 + s1, c0 + c1);
        }
    }
    blocks
        .into_iter()
        .flat_map(|(s, c)| std::iter::repeat_n(s / c as f64, c))
        .collect()
}

/// Moves a layer's centres as close as possible to the mean centre of each
/// vertex's neighbours while keeping the order and the separations.
fn pull_layer(
    layer: &[usize],
    neighbours: &[Vec<usize>],
    cy: &mut [f64],
    half: &[f64],
    sep: &[f64],
) {
    // offset[i]: the least distance from the first centre to the i-th.
    let mut offset = Vec::with_capacity(layer.len());
    let mut acc = 0.0;
    for (i, &v) in layer.iter().enumerate() {
        if i > 0 {
            let u = layer[i - 1];
            acc += half[u] + sep[u].max(sep[v]) + half[v];
        }
        offset.push(acc);
    }
    let targets: Vec<f64> = layer
        .iter()
        .zip(&offset)
        .map(|(&v, o)| {
            let ns = &neighbours[v];
            let want = if ns.is_empty() {
                cy[v]
            } else {
                ns.iter().map(|&u| cy[u]).sum::<f64>() / ns.len() as f64
            };
            want - o
        })
        .collect();
    for ((&v, z), o) in layer.iter().zip(pava(&targets)).zip(&offset) {
        cy[v] = z + o;
    }
}

/// Lays out tasks and edges (as from `prepare`).
pub(super) fn place(mut nodes: Vec<NodeBox>, edges: &[EdgeSpec<'_>]) -> GraphLayout {
    let n = nodes.len();
    let mut g = build(n, edges);
    reduce_crossings(&mut g);
    let total = g.rank.len();
    let is_task = |v: usize| v < n;
    let half: Vec<f64> = (0..total)
        .map(|v| if is_task(v) { nodes[v].h / 2.0 } else { 0.0 })
        .collect();
    let sep: Vec<f64> = (0..total)
        .map(|v| if is_task(v) { BOX_SEP } else { DUMMY_SEP })
        .collect();

    // Columns: as wide as their widest box; a gap wide enough for labels.
    let depth = g.layers.len();
    let mut col_w = vec![0.0f64; depth];
    for (v, node) in nodes.iter().enumerate() {
        col_w[g.rank[v]] = col_w[g.rank[v]].max(node.w);
    }
    let mut gap = vec![LAYER_GAP; depth];
    for (e, chain) in edges.iter().zip(&g.chains) {
        if let (Some(text), Some(_)) = (e.label, chain) {
            let r = g.rank[e.from];
            gap[r] = gap[r].max(label_half_width(text) * 2.0 + 40.0);
        }
    }
    let mut col_x = Vec::with_capacity(depth);
    let mut x = MARGIN;
    for r in 0..depth {
        col_x.push(x);
        x += col_w[r] + gap[r];
    }

    // Centres: packed first, then pulled towards neighbours both ways.
    let mut cy = vec![0.0f64; total];
    for layer in &g.layers {
        let mut y = 0.0;
        for &v in layer {
            cy[v] = y + half[v];
            y += 2.0 * half[v] + sep[v];
        }
    }
    for _ in 0..PLACE_ROUNDS {
        for r in 1..depth {
            pull_layer(&g.layers[r], &g.up, &mut cy, &half, &sep);
        }
        for r in (0..depth.saturating_sub(1)).rev() {
            pull_layer(&g.layers[r], &g.down, &mut cy, &half, &sep);
        }
    }
    let top = (0..total)
        .map(|v| cy[v] - half[v])
        .fold(f64::INFINITY, f64::min);
    let shift = if top.is_finite() { MARGIN - top } else { 0.0 };
    for y in &mut cy {
        *y += shift;
    }
    for (v, node) in nodes.iter_mut().enumerate() {
        node.x = col_x[g.rank[v]];
        node.y = cy[v] - half[v];
    }

    let col_right = |r: usize| col_x[r] + col_w[r];
    let mut out_edges = Vec::with_capacity(edges.len());
    for (e, chain) in edges.iter().zip(&g.chains) {
        let (a, b) = (&nodes[e.from], &nodes[e.to]);
        let (d, label_at) = match chain {
            Some(chain) => routed(chain, &g.rank, &cy, a, &col_x, col_right),
            None => {
                let (x1, y1, x2, y2) = (a.x + a.w, a.y + a.h / 2.0, b.x, b.y + b.h / 2.0);
                (
                    format!("M {x1:.1} {y1:.1} L {x2:.1} {y2:.1}"),
                    ((x1 + x2) / 2.0, (y1 + y2) / 2.0),
                )
            }
        };
        out_edges.push(EdgePath {
            from: a.task_id.clone(),
            to: b.task_id.clone(),
            d,
            label: e.label.map(|t| (t.to_owned(), label_at.0, label_at.1)),
        });
    }

    let mut width = 0.0f64;
    let mut height = 0.0f64;
    for node in &nodes {
        width = width.max(node.x + node.w + MARGIN);
        height = height.max(node.y + node.h + MARGIN);
    }
    for &y in &cy {
        height = height.max(y + MARGIN);
    }
    for e in &out_edges {
        if let Some((t, x, y)) = &e.label {
            width = width.max(x + label_half_width(t) + MARGIN);
            height = height.max(y + 10.0 + MARGIN);
        }
    }
    GraphLayout {
        width,
        height,
        nodes,
        edges: out_edges,
    }
}

/// Half the width the page gives a label (as graph.rs draws it).
fn label_half_width(text: &str) -> f64 {
    text.chars().count() as f64 * 3.6 + 6.0
}

/// An edge's path along its chain: out of the source box to its column's
/// edge, an S-curve across each gap, straight through each dummy's column.
/// Also where its label goes: the middle of the first curve.
fn routed(
    chain: &[usize],
    rank: &[usize],
    cy: &[f64],
    from: &NodeBox,
    col_x: &[f64],
    col_right: impl Fn(usize) -> f64,
) -> (String, (f64, f64)) {
    let mut d = format!("M {:.1} {:.1}", from.x + from.w, cy[chain[0]]);
    let mut label_at = None;
    for w in chain.windows(2) {
        let (u, v) = (w[0], w[1]);
        let (x0, x1) = (col_right(rank[u]), col_x[rank[v]]);
        let (y0, y1) = (cy[u], cy[v]);
        let mid = (x0 + x1) / 2.0;
        d.push_str(&format!(
            " L {x0:.1} {y0:.1} C {mid:.1} {y0:.1}, {mid:.1} {y1:.1}, {x1:.1} {y1:.1}"
        ));
        // A cubic with both controls at the gap's middle passes through
        // (mid, mean of the ends) at t = 1/2.
        label_at.get_or_insert((mid, (y0 + y1) / 2.0));
        if w[1] != chain[chain.len() - 1] {
            d.push_str(&format!(" L {:.1} {y1:.1}", col_right(rank[v])));
        }
    }
    (d, label_at.unwrap_or((from.x + from.w, cy[chain[0]])))
}

#[cfg(test)]
mod tests {
    use super::super::GraphSpec;
    use super::super::prepare;
    use super::*;
    use serde_json::{Value, json};

    fn spec(tasks: Vec<Value>) -> GraphSpec {
        GraphSpec::from_serialized(Some(&json!({ "tasks": tasks })))
    }

    fn layered(s: &GraphSpec) -> GraphLayout {
        let (nodes, edges) = prepare(s);
        place(nodes, &edges)
    }

    fn node<'a>(l: &'a GraphLayout, id: &str) -> &'a NodeBox {
        l.nodes.iter().find(|n| n.task_id == id).expect("node")
    }

    /// Crossings among edges between adjacent columns, from the drawn
    /// boxes: two edges cross when their ends are in opposite orders.
    fn drawn_crossings(l: &GraphLayout) -> usize {
        let ends: Vec<(f64, f64, f64, f64)> = l
            .edges
            .iter()
            .map(|e| {
                let (a, b) = (node(l, &e.from), node(l, &e.to));
                (a.x, a.y, b.x, b.y)
            })
            .collect();
        let mut n = 0;
        for (i, p) in ends.iter().enumerate() {
            for q in &ends[i + 1..] {
                let same_columns = p.0 == q.0 && p.2 == q.2;
                if same_columns && (p.1 - q.1) * (p.3 - q.3) < 0.0 {
                    n += 1;
                }
            }
        }
        n
    }

    /// A deterministic wide layered DAG: `per_layer` tasks a layer, each fed
    /// by three tasks of the previous two layers.
    fn wide(tasks: usize, per_layer: usize) -> GraphSpec {
        spec(
            (0..tasks)
                .map(|i| {
                    let layer = i / per_layer;
                    let ups: Vec<String> = (0..3)
                        .filter(|_| layer > 0)
                        .map(|k| {
                            let back = if k == 2 && layer > 1 { 2 } else { 1 };
                            let j = (i * 7 + k * 13) % per_layer;
                            format!("t{}", (layer - back) * per_layer + j)
                        })
                        .collect();
                    json!({"task_id": format!("t{i}"), "upstream_task_ids": ups,
                           "task_group": format!("g{}", layer % 5)})
                })
                .collect(),
        )
    }

    // Invariant: a task sits in the column of its longest upstream path.
    #[test]
    fn columns_follow_the_longest_path() {
        let l = layered(&spec(vec![
            json!({"task_id": "a"}),
            json!({"task_id": "b", "upstream_task_ids": ["a"]}),
            json!({"task_id": "c", "upstream_task_ids": ["b"]}),
            json!({"task_id": "d", "upstream_task_ids": ["a", "c"]}),
        ]));
        let xs: Vec<f64> = ["a", "b", "c", "d"].iter().map(|t| node(&l, t).x).collect();
        assert!(xs.windows(2).all(|w| w[0] < w[1]), "{xs:?}");
        // The long edge a→d passes through columns b and c, beside their boxes.
        let long = l
            .edges
            .iter()
            .find(|e| e.from == "a" && e.to == "d")
            .expect("edge");
        assert_eq!(long.d.matches(" C ").count(), 3, "{}", long.d);
    }

    // Invariant: crossing reduction undoes a crafted tangle the plain
    // layering draws as is (target i fed by source 3 - i: 6 crossings).
    #[test]
    fn fewer_crossings_than_the_plain_layering() {
        let mut tasks: Vec<Value> = (0..4)
            .map(|i| json!({"task_id": format!("s{i}")}))
            .collect();
        for i in 0..4 {
            tasks.push(
                json!({"task_id": format!("t{i}"), "upstream_task_ids": [format!("s{}", 3 - i)]}),
            );
        }
        let s = spec(tasks);
        let (nodes, edges) = prepare(&s);
        let plain = super::super::place_plainly(nodes, &edges);
        assert_eq!(drawn_crossings(&plain), 6);
        assert_eq!(drawn_crossings(&layered(&s)), 0);
    }

    // Invariant: on a wide DAG the sweeps never end with more crossings than
    // the first order they start from.
    #[test]
    fn sweeps_keep_the_best_order() {
        let s = wide(300, 20);
        let (nodes, edges) = prepare(&s);
        let mut g = build(nodes.len(), &edges);
        let before = crossings(&g, &positions(&g));
        reduce_crossings(&mut g);
        let after = crossings(&g, &positions(&g));
        assert!(after < before, "{after} < {before}");
    }

    // Invariant: a 1,000-task DAG is fully layered: every edge runs left to
    // right, no boxes overlap in a column, labels sit between their ends,
    // and the drawing contains everything.
    #[test]
    fn thousand_tasks_are_layered() {
        let mut s = wide(1000, 25);
        s.edge_labels.push(super::super::SpecLabel {
            from: "t0".into(),
            to: "t25".into(),
            label: "go".into(),
        });
        let ups = &mut s.tasks[25].upstream_task_ids;
        if !ups.contains(&"t0".to_owned()) {
            ups.push("t0".into());
        }
        let l = layered(&s);
        assert_eq!(l.nodes.len(), 1000);
        assert!(l.edges.len() > 2900);
        for e in &l.edges {
            let (a, b) = (node(&l, &e.from), node(&l, &e.to));
            assert!(a.x + a.w <= b.x, "{} before {}", e.from, e.to);
            if let Some((_, x, _)) = &e.label {
                assert!(a.x + a.w <= *x && *x <= b.x);
            }
        }
        assert_eq!(l.edges.iter().filter(|e| e.label.is_some()).count(), 1);
        let mut by_column: std::collections::BTreeMap<i64, Vec<&NodeBox>> = Default::default();
        for n in &l.nodes {
            assert!(n.x >= 0.0 && n.y >= 0.0 && n.x + n.w <= l.width && n.y + n.h <= l.height);
            by_column.entry(n.x as i64).or_default().push(n);
        }
        assert_eq!(by_column.len(), 40);
        for column in by_column.values_mut() {
            column.sort_by(|a, b| a.y.total_cmp(&b.y));
            for w in column.windows(2) {
                assert!(w[0].y + w[0].h <= w[1].y, "{:?} overlaps {:?}", w[0], w[1]);
            }
        }
    }

    // Invariant: when long edges would need too many dummy points, the
    // longest are drawn straight and the dummies stay within the bound.
    #[test]
    fn dummy_points_are_bounded() {
        // A 600-task chain, and `start` feeding every chain task: ~180,000
        // dummies without the bound.
        let mut tasks = vec![json!({"task_id": "start"})];
        for i in 0..600 {
            let mut ups = vec!["start".to_owned()];
            if i > 0 {
                ups.push(format!("c{}", i - 1));
            }
            tasks.push(json!({"task_id": format!("c{i}"), "upstream_task_ids": ups}));
        }
        let s = spec(tasks);
        let (nodes, edges) = prepare(&s);
        let g = build(nodes.len(), &edges);
        assert!(g.rank.len() - nodes.len() <= MAX_DUMMIES);
        assert!(
            g.chains.iter().any(Option::is_none),
            "some edges go straight"
        );
        let l = place(nodes, &edges);
        let straight = l.edges.iter().filter(|e| !e.d.contains(" C ")).count();
        assert!(straight > 0 && straight < 600, "{straight}");
    }

    // Invariant: points count tasks plus one dummy a layer crossed.
    #[test]
    fn points_count_tasks_and_dummies() {
        let s = spec(vec![
            json!({"task_id": "a"}),
            json!({"task_id": "b", "upstream_task_ids": ["a"]}),
            json!({"task_id": "c", "upstream_task_ids": ["b"]}),
            json!({"task_id": "d", "upstream_task_ids": ["a", "c"]}),
        ]);
        let (nodes, edges) = prepare(&s);
        assert_eq!(points(nodes.len(), &edges), 4 + 2);
        let g = build(nodes.len(), &edges);
        assert_eq!(g.rank.len(), 6);
    }

    // Invariant: a cycle (not a valid DAG) still gets every task a place.
    #[test]
    fn a_cycle_is_still_placed() {
        let l = layered(&spec(vec![
            json!({"task_id": "a", "upstream_task_ids": ["b"]}),
            json!({"task_id": "b", "upstream_task_ids": ["a"]}),
            json!({"task_id": "c", "upstream_task_ids": ["b"]}),
        ]));
        assert_eq!(l.nodes.len(), 3);
        assert_eq!(l.edges.len(), 3);
        assert!(node(&l, "b").x < node(&l, "c").x);
    }

    #[test]
    fn pair_crossings_counts_inverted_pairs() {
        // Edges to positions 1 and 4 (left vertex) against 0, 2, 3 (right
        // vertex): 1 crosses 0; 4 crosses 0, 2 and 3.
        assert_eq!(pair_crossings(&[1, 4], &[0, 2, 3]), 4);
        assert_eq!(pair_crossings(&[0, 2, 3], &[1, 4]), 2);
    }

    #[test]
    fn isotonic_regression_pools_violators() {
        assert_eq!(pava(&[1.0, 3.0, 2.0, 4.0]), vec![1.0, 2.5, 2.5, 4.0]);
        assert_eq!(pava(&[3.0, 2.0, 1.0]), vec![2.0, 2.0, 2.0]);
    }
}
