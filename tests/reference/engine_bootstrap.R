# The engine's own Rao-Wu bootstrap replicates (seed 20261129, 50
# replicates, made by `literacy weight ... --replicate-method bootstrap`,
# see README.md), given to R's survey package: R's standard errors from the
# same replicate weights are the reference for the engine's replicate
# variance (crates/core/tests/replicate.rs).
#
# Regenerate (from tests/reference/):
#   ../../target/release/literacy weight --data data/synth.csv --weight weight \
#     --strata province --psu psu --lonely-psu certainty \
#     --replicate-method bootstrap --replicates 50 --seed 20261129 \
#     --out data/engine_bootstrap_repweights.csv
#   Rscript engine_bootstrap.R
suppressPackageStartupMessages(library(survey))
stopifnot(as.character(packageVersion("survey")) == "4.1.1")
d <- read.csv("data/engine_bootstrap_repweights.csv")
R <- sum(grepl("^rep_", names(d)))
rows <- list()
for (mse in c(FALSE, TRUE)) {
  des <- svrepdesign(data = d, repweights = "rep_[0-9]+", weights = ~weight,
                     type = "bootstrap", combined.weights = TRUE,
                     scale = 1 / (R - 1), rscales = rep(1, R), mse = mse)
  for (v in c("qualified", "score")) {
    m <- svymean(as.formula(paste0("~", v)), des, deff = TRUE)
    ci <- confint(m, df = degf(des))
    rows[[length(rows) + 1]] <- data.frame(
      variable = v, statistic = "mean", mse = as.integer(mse), df = degf(des),
      estimate = sprintf("%.17g", coef(m)), se = sprintf("%.17g", SE(m)),
      ci_low = sprintf("%.17g", ci[1]), ci_high = sprintf("%.17g", ci[2]),
      deff = sprintf("%.17g", deff(m)))
  }
}
write.csv(do.call(rbind, rows), "expected/f09_engine_bootstrap.csv",
          row.names = FALSE, quote = FALSE)
