# R's survey package on the estimation benchmark (bench/estimate_compare.sh):
# read the microdata, declare the design, rake to the four margins, and
# estimate the qualified share with its SE in every province x sex x
# urban/rural domain:
#
#   svydesign(ids = ~psu, strata = ~stratum, weights = ~weight)
#   rake(design, list(~province, ~sex, ~urban_rural, ~age_group), margins)
#   svyby(~qualified, ~province + sex + urban_rural, design, svymean)
#
# With variance = "bootstrap" the unraked design is first turned into R
# replicates of the Rao-Wu rescaled bootstrap (as.svrepdesign(type =
# "subbootstrap")), and rake() then rakes the full-sample and every replicate
# weight.
#
# Usage: Rscript bench/estimate_compare.R DATA MARGIN_DIR OUT.csv
#          [taylor|bootstrap] [REPLICATES] [EPSILON] [MAXIT]
# EPSILON and MAXIT are rake()'s control (R's default is 1 and 10; the
# benchmark converges as tightly as the engine, see estimate_compare.sh).
# Prints one line of phase times (seconds) to stdout; writes one row per
# domain (province, sex, urban_rural, estimate, se) to OUT.csv with 17
# significant digits.

suppressPackageStartupMessages({
  library(survey)
  library(data.table)
})
args <- commandArgs(trailingOnly = TRUE)
data_path <- args[1]
margin_dir <- args[2]
out_path <- args[3]
variance <- if (length(args) >= 4) args[4] else "taylor"
replicates <- if (length(args) >= 5) as.integer(args[5]) else 100L
epsilon <- if (length(args) >= 6) as.numeric(args[6]) else 1e-15
maxit <- if (length(args) >= 7) as.integer(args[7]) else 1000L

clock <- function() unname(proc.time()["elapsed"])
t0 <- clock()
df <- as.data.frame(fread(data_path))
margin_names <- c("province", "sex", "urban_rural", "age_group")
pop <- lapply(margin_names, function(v) {
  m <- read.csv(file.path(margin_dir, paste0("margin_", v, ".csv")))
  names(m) <- c(v, "Freq")
  m
})
t_read <- clock() - t0

t0 <- clock()
design <- svydesign(ids = ~psu, strata = ~stratum, weights = ~weight, data = df)
if (variance == "bootstrap") {
  set.seed(1)
  design <- as.svrepdesign(design, type = "subbootstrap", replicates = replicates)
}
t_design <- clock() - t0

t0 <- clock()
raked <- rake(design, lapply(margin_names, function(v) as.formula(paste0("~", v))), pop,
  control = list(maxit = maxit, epsilon = epsilon)
)
t_rake <- clock() - t0

t0 <- clock()
est <- svyby(~qualified, ~ province + sex + urban_rural, raked, svymean)
t_svyby <- clock() - t0

# Largest relative margin error left after raking, for the record.
w <- weights(raked, "sampling")
margin_error <- max(sapply(seq_along(margin_names), function(i) {
  got <- tapply(w, df[[margin_names[i]]], sum)
  want <- pop[[i]]$Freq[match(names(got), as.character(pop[[i]][[1]]))]
  max(abs(got - want) / want)
}))

out <- data.frame(
  province = est$province, sex = est$sex, urban_rural = est$urban_rural,
  estimate = sprintf("%.17g", coef(est)), se = sprintf("%.17g", SE(est))
)
write.csv(out, out_path, row.names = FALSE, quote = FALSE)
cat(sprintf(
  "read=%.3f design=%.3f rake=%.3f svyby=%.3f margin_error=%.3g R=%s survey=%s\n",
  t_read, t_design, t_rake, t_svyby, margin_error,
  paste(R.version$major, R.version$minor, sep = "."), packageVersion("survey")
))
