//! Query plans as the host accepts them from an engine. A plan is the engine's answer, so it is
//! untrusted input: a deployed engine could return nodes that share children (`and([k, k])`
//! forty levels deep is a tree of 2^40 leaves when expanded), cycles, or millions of nodes,
//! and make the host build an unbounded SQL string outside any guest limit. Only trees within a
//! node budget pass; anything else is the engine's fault, reported as such.

use super::bindings::{PlanNode, QueryPlan};

/// The most nodes a plan may have. The default engine needs about two per comparison and
/// allows 1000 comparisons per filter.
pub const MAX_NODES: usize = 8192;

/// How deeply a plan may nest (the default engine's filters nest at most 32 levels, each
/// level at most two plan nodes deep).
pub const MAX_DEPTH: usize = 128;

/// Checks that the nodes reachable from the root form a tree: every index in range, no node
/// reached twice (which rules out shared children and cycles alike), within the budgets.
/// Returns what is wrong, in words for the operator reading the admin event.
pub fn check(plan: &QueryPlan) -> Result<(), String> {
    let n = plan.nodes.len();
    if n == 0 {
        return Err("it has no nodes".into());
    }
    if n > MAX_NODES {
        return Err(format!("it has {n} nodes, more than the {MAX_NODES} allowed"));
    }
    let mut seen = vec![false; n];
    // Depth-first without recursion: (node, depth).
    let mut stack = vec![(plan.root, 0usize)];
    while let Some((index, depth)) = stack.pop() {
        let i = index as usize;
        if i >= n {
            return Err(format!("node {index} does not exist"));
        }
        if seen[i] {
            return Err(format!("node {index} is used more than once (a plan must be a tree)"));
        }
        seen[i] = true;
        if depth > MAX_DEPTH {
            return Err(format!("it nests more than {MAX_DEPTH} levels deep"));
        }
        match &plan.nodes[i] {
            PlanNode::And(children) | PlanNode::Or(children) => {
                stack.extend(children.iter().map(|&c| (c, depth + 1)));
            }
            PlanNode::Not(child) => stack.push((*child, depth + 1)),
            PlanNode::All | PlanNode::None | PlanNode::Compare(_) => {}
        }
        if stack.len() > n {
            return Err("its nodes name more children than it has nodes".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::bindings::{CompareOp, Comparison, Field, Scalar};

    fn leaf() -> PlanNode {
        PlanNode::Compare(Comparison {
            field: Field::Name,
            op: CompareOp::Eq,
            value: Some(Scalar::Text("x".into())),
            case_insensitive: true,
        })
    }

    fn plan(nodes: Vec<PlanNode>, root: u32) -> QueryPlan {
        QueryPlan { nodes, root, exact: true, recheck_needs_relations: false, sort: None }
    }

    #[test]
    fn trees_in_either_order_pass() {
        // The default engine writes children first…
        assert_eq!(check(&plan(vec![leaf(), leaf(), PlanNode::And(vec![0, 1])], 2)), Ok(()));
        // …another engine may write parents first.
        assert_eq!(check(&plan(vec![PlanNode::Or(vec![1, 2]), leaf(), PlanNode::Not(3), leaf()], 0)), Ok(()));
    }

    #[test]
    fn shared_children_are_refused() {
        // and([k+1, k+1]) forty deep: 81 nodes that would expand to 2^40 leaves.
        let mut nodes: Vec<PlanNode> = (0..40).map(|k| PlanNode::And(vec![k + 1, k + 1])).collect();
        nodes.push(leaf());
        let e = check(&plan(nodes, 0)).expect_err("a DAG is not a tree");
        assert!(e.contains("more than once"), "{e}");
    }

    #[test]
    fn cycles_missing_nodes_and_oversized_plans_are_refused() {
        assert!(check(&plan(vec![PlanNode::Not(0)], 0)).is_err());
        assert!(check(&plan(vec![PlanNode::And(vec![0, 1])], 0)).is_err());
        assert!(check(&plan(vec![leaf()], 7)).is_err());
        assert!(check(&plan(vec![], 0)).is_err());
        assert!(check(&plan(vec![PlanNode::All; MAX_NODES + 1], 0)).is_err());
        let chain: Vec<PlanNode> = (1..=200).map(PlanNode::Not).chain([leaf()]).collect();
        assert!(check(&plan(chain, 0)).expect_err("too deep").contains("levels deep"));
    }
}
