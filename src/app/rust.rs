//! Placeholder.

use super::{AppOptions, AppReport};
use anyhow::{bail, Result};
use lock2build_plan::plan::Plan;

pub(super) fn build(_options: &AppOptions, plan: Plan, project: usize) -> Result<AppReport> {
    bail!(
        "{}: lock2build app does not build rust projects yet",
        plan.projects[project].lockfile.display()
    )
}
