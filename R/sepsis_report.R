#' An RMarkdown report of a sepsis dosing policy
#'
#' The package ships an RMarkdown template, `sepsis-report`, that learns a
#' personalised dosing policy with [p4l()] on a sepsis cohort and reports it.
#'
#' Draft the report and knit it with
#'
#' ```
#' rmarkdown::draft("report.Rmd", template = "sepsis-report", package = "p4l")
#' rmarkdown::render("report.Rmd")
#' ```
#'
#' (or, in RStudio, File > New File > R Markdown > From Template). On the
#' shipped demo cohort ([sepsis_demo()]) it knits in well under a minute.
#'
#' @section Contents:
#' The HTML report has these sections, every number computed when it knits:
#' \describe{
#' \item{Cohort}{numbers of stays and 4-hour blocks, what [sepsis_data()]
#'   kept and its messages, and a Table-1-style summary (median \[IQR\] of
#'   age, blocks per stay, SOFA, vital signs, lactate, creatinine, white
#'   cells and the doses; % female; in-hospital mortality) by fitted cluster
#'   and overall, in base R.}
#' \item{Action distribution}{the clinicians' 3 x 3 dose actions (IV fluid
#'   level x vasopressor level) at the observed transitions next to the
#'   actions the P4L policy recommends at the same states, as two heat maps
#'   with counts and percentages (ggplot2 when it is installed, base
#'   graphics otherwise), the counts per action and the agreement.}
#' \item{The fitted clusters}{how K was chosen (the criterion of
#'   [select_groups()] with `K = "auto"`: on ICU stays its mixture model's
#'   held-out log-likelihoods), cluster sizes, mean reward, and
#'   the clinicians' and the policy's most common action per cluster.}
#' \item{Recommendations per stay}{for each stay, its cluster, SOFA, the
#'   clinicians' action at its last block and the P4L recommendation there.}
#' \item{Values with intervals}{[compare_policies()] on the data of P4L,
#'   pooled [fqi()] and the clinicians' policy ([behaviour_policy()]) with
#'   the `"fqe"` and `"dr"` estimators of [policy_value()], bootstrap
#'   intervals and paired differences to the clinicians. These are
#'   off-policy estimates on the training stays, which favour the learned
#'   policies; the report says so (for a value to report, evaluate on
#'   held-out stays, see [policy_value()]).}
#' \item{Convergence}{`fit$converged`, the number of iterations, the
#'   warnings captured while fitting, `summary(fit)` and the objective's
#'   trace. A fit that did not converge is flagged in a box at the top of
#'   the report as well.}
#' }
#'
#' @section Parameters:
#' Set them in the YAML header (`params:`) or with
#' `rmarkdown::render(..., params = list(...))`:
#' \describe{
#' \item{`cohort`}{path to a CSV file of the cohort schema of
#'   [sepsis_cohort()] (gzip-compressed files are read too); empty (the
#'   default) for [sepsis_demo()].}
#' \item{`K`}{number of clusters of [p4l()], or `"auto"` (the default) for
#'   [select_groups()].}
#' \item{`seed`}{random seed of the fits and the bootstrap (default 1).}
#' \item{`num.boot`}{bootstrap resamples of the value intervals (default
#'   100).}
#' \item{`gamma`}{discount factor of the fits and values (default 0.8).}
#' \item{`max.iter`}{the most iterations of [p4l()] (`p4l_control(max.iter = )`,
#'   default 500).}
#' }
#' @seealso [sepsis_data()], [p4l()], [compare_policies()]
#' @name sepsis_report
NULL
