#!/usr/bin/env Rscript
## ---------------------------------------------------------------------------
## Reference fixtures from R's `survey` package (4.1-1) for the Rust engine.
##
## Run:   cd tests/reference && Rscript make_fixtures.R
## Writes data/*.csv (inputs) and expected/*.csv (R's results).
## Deterministic: every random step uses an explicit set.seed(); re-running
## produces byte-identical files.
##
## Every estimate is computed from the data files *as re-read from disk*
## (read.csv), so the engine sees exactly the same doubles R used.
##
## Number format in every CSV: sprintf("%.17g") (17 significant digits,
## round-trips exactly to the same IEEE double). NA and NaN are written as
## "NaN"; infinities as "Inf" / "-Inf". No quoting, "\n" line ends.
##
## Conventions used everywhere unless a case says otherwise (see
## expected/CASES.md for the full per-case description):
##   * level = 0.95.
##   * ci_low/ci_high  = estimate -/+ qt(1 - (1-level)/2, df) * se with df
##     the `df` column (for a domain: degf() of the domain subset design,
##     which is what svyciprop() uses inside svyby()).
##   * ci_low_normal/ci_high_normal = R's default confint() (df = Inf).
##   * deff = svymean(..., deff=TRUE) (R's default, "without replacement"
##     SRS variance: s^2/n * (1 - n/N_hat)); deff_replace = deff="replace"
##     (s^2/n).
##   * n = number of rows with non-zero weight in the domain; weighted_total
##     = sum of weights in the domain.
## ---------------------------------------------------------------------------

suppressPackageStartupMessages({
  library(survey)
  library(mitools)
})
stopifnot(packageVersion("survey") == "4.1.1")
if (!file.exists("make_fixtures.R")) stop("run from tests/reference: cd tests/reference && Rscript make_fixtures.R")

options(survey.lonely.psu = "fail")          # R's default; set per case below
options(survey.adjust.domain.lonely = FALSE) # R's default
options(survey.replicates.mse = FALSE)       # R's default
options(survey.ultimate.cluster = FALSE)     # R's default
options(survey.drop.replicates = TRUE)       # R's default
options(warn = 1)

dir.create("data", showWarnings = FALSE)
dir.create("expected", showWarnings = FALSE)

## ---------------------------------------------------------------- helpers --
num17 <- function(x) {
  out <- sprintf("%.17g", as.double(x))
  out[is.na(x)] <- "NaN"
  out
}

write_fixture <- function(df, path) {
  out <- as.data.frame(df, stringsAsFactors = FALSE)
  for (nm in names(out)) {
    v <- out[[nm]]
    if (is.factor(v)) v <- as.character(v)
    if (is.logical(v)) v <- as.integer(v)
    if (is.integer(v)) {
      v2 <- as.character(v); v2[is.na(v)] <- "NaN"; v <- v2
    } else if (is.numeric(v)) {
      v <- num17(v)
    } else {
      v <- as.character(v); v[is.na(v)] <- ""
    }
    out[[nm]] <- v
  }
  write.table(out, path, sep = ",", quote = FALSE, row.names = FALSE,
              col.names = TRUE, eol = "\n")
  invisible(path)
}

read_fixture <- function(path) read.csv(path, stringsAsFactors = FALSE)

qfac <- function(level, df) qt(1 - (1 - level) / 2, df)

## one estimate row (mean or total) on a design (Taylor or replicate)
one_row <- function(design, var, stat = c("mean", "total"), level = 0.95,
                    df = degf(design)) {
  stat <- match.arg(stat)
  f <- as.formula(paste0("~", var))
  FUN <- if (stat == "mean") svymean else svytotal
  m  <- FUN(f, design, deff = TRUE)
  mr <- FUN(f, design, deff = "replace")
  est <- unname(coef(m)[1]); se <- unname(SE(m)[1])
  ci  <- suppressWarnings(confint(m, level = level, df = df))
  cin <- confint(m, level = level)
  w <- weights(design, "sampling")
  dd <- unname(deff(m))[1]; ddr <- unname(deff(mr))[1]
  if (is.finite(se) && se < 1e-12 * max(1, abs(est))) {
    ## exactly-zero variance computed as rounding noise (~1e-17) by R:
    ## written as exact zeros (see CASES.md, "zero-variance domains")
    se <- 0; dd <- 0; ddr <- 0
    cin[1, ] <- est
    if (is.finite(ci[1, 1])) ci[1, ] <- est
  }
  data.frame(variable = var, statistic = stat, estimate = est, se = se,
             ci_low = ci[1, 1], ci_high = ci[1, 2],
             deff = dd, df = df,
             ci_low_normal = cin[1, 1], ci_high_normal = cin[1, 2],
             deff_replace = ddr,
             n = sum(w != 0), weighted_total = sum(w),
             level = level, stringsAsFactors = FALSE)
}

## domain index vectors for by-variables, sorted like svyby()
domain_list <- function(design, by) {
  if (is.null(by)) return(list(list(keys = NULL, idx = NULL)))
  vars <- design$variables[, by, drop = FALSE]
  w <- weights(design, "sampling")
  keys <- unique(vars[w != 0, , drop = FALSE])
  keys <- keys[do.call(order, rev(as.list(keys))), , drop = FALSE] # svyby order: first var fastest
  lapply(seq_len(nrow(keys)), function(i) {
    idx <- Reduce(`&`, lapply(by, function(b) vars[[b]] == keys[[b]][i]))
    list(keys = keys[i, , drop = FALSE], idx = idx)
  })
}

## estimate rows for whole population (by=NULL) and/or domains
est_rows <- function(design, vars, by = NULL, stat = "mean", level = 0.95,
                     whole = TRUE, all_by = by) {
  out <- list()
  specs <- c(if (whole) list(NULL), if (!is.null(by)) list(by))
  for (spec in specs) {
    for (d in domain_list(design, spec)) {
      sub <- if (is.null(d$idx)) design else design[d$idx, ]
      for (v in vars) {
        r <- one_row(sub, v, stat = stat, level = level)
        keys <- setNames(as.list(rep(NA, length(all_by))), all_by)
        if (!is.null(d$keys)) for (b in names(d$keys)) keys[[b]] <- d$keys[[b]][1]
        out[[length(out) + 1]] <- add_keys(keys, r)
      }
    }
  }
  res <- do.call(rbind, out)
  ## cross-check domain rows against svyby()
  if (!is.null(by)) {
    FUN <- if (stat == "mean") svymean else svytotal
    for (v in vars) {
      sb <- svyby(as.formula(paste0("~", v)), as.formula(paste0("~", paste(by, collapse = "+"))),
                  design, FUN, deff = TRUE)
      mine <- res[res$variable == v & !is.na(res[[by[1]]]), ]
      stopifnot(nrow(mine) == nrow(sb))
      key_sb <- do.call(paste, c(lapply(by, function(b) as.character(sb[[b]])), sep = "|"))
      key_me <- do.call(paste, c(lapply(by, function(b) as.character(mine[[b]])), sep = "|"))
      o <- match(key_me, key_sb)
      stopifnot(isTRUE(all.equal(mine$estimate, unname(coef(sb))[o], tolerance = 1e-13)))
      stopifnot(isTRUE(all.equal(mine$se, unname(SE(sb))[o], tolerance = 1e-12)))
      stopifnot(isTRUE(all.equal(mine$deff, unname(deff(sb))[o], tolerance = 1e-12)))
    }
  }
  res
}

add_keys <- function(keys, r) {
  if (length(keys) == 0) return(r)
  cbind(as.data.frame(keys, stringsAsFactors = FALSE), r)
}

with_lonely <- function(opt, expr) {
  old <- options(survey.lonely.psu = opt)
  on.exit(options(old))
  force(expr)
}

blank_keys <- function(df, cols) {
  ## whole-population rows: domain columns empty (NA -> "" when written)
  for (cc in cols) df[[cc]] <- ifelse(is.na(df[[cc]]), "", as.character(df[[cc]]))
  df
}

## ===================================================================== DATA
data(api)

## ---- api_strat / api_clus1 / api_clus2 ------------------------------------
api_cols <- function(d, extra) {
  out <- data.frame(snum = d$snum, stype = as.character(d$stype), dnum = d$dnum,
                    cnum = d$cnum, stringsAsFactors = FALSE)
  for (e in extra) out[[e]] <- as.vector(d[[e]])
  out$api00 <- d$api00
  out$api99 <- d$api99
  out$sch_wide <- as.integer(d$sch.wide == "Yes")
  out$awards01 <- as.integer(d$awards == "Yes")
  out$hi700 <- as.integer(d$api00 >= 700)
  out
}
write_fixture(api_cols(apistrat, c("pw", "fpc")), "data/api_strat.csv")
write_fixture(api_cols(apiclus1, c("pw", "fpc")), "data/api_clus1.csv")
write_fixture(api_cols(apiclus2, c("pw", "fpc1", "fpc2")), "data/api_clus2.csv")

## ---- synth: stratified cluster sample -------------------------------------
set.seed(20240611)
provinces <- c(11L, 12L, 13L, 14L, 31L, 32L, 44L, 51L)
n_psu     <- c( 8L,  8L,  8L,  8L,  8L,  1L,  8L,  5L)   # province 32: single PSU
N_psu     <- c(120L, 95L, 80L, 150L, 60L, 4L, 110L, 140L) # population PSU counts (fpc)
prov_eff  <- c(0.0, 0.3, -0.2, 0.1, -0.4, 0.2, 0.5, -0.1)
rows <- list()
for (h in seq_along(provinces)) {
  for (j in seq_len(n_psu[h])) {
    m  <- if (runif(1) < 0.08) sample(10:30, 1) else sample(50:60, 1)
    M  <- round(m * runif(1, 3, 12))                 # cluster population size
    w  <- round((N_psu[h] / n_psu[h]) * (M / m), 4)  # base design weight
    pu <- runif(1, 0.25, 0.85)
    re <- rnorm(1, 0, 0.35)
    ur  <- ifelse(runif(m) < pu, 1L, 2L)
    sex <- sample(1:2, m, replace = TRUE, prob = c(0.48, 0.52))
    age <- sample(1:5, m, replace = TRUE, prob = c(.22, .24, .20, .18, .16))
    eta <- -2.2 + 0.45 * (ur == 1) + 0.3 * (sex == 1) +
      c(-0.5, 0.2, 0.4, 0.1, -0.3)[age] + prov_eff[h] + re
    q  <- as.integer(runif(m) < plogis(eta))
    sc <- pmin(100, pmax(0, round(48 + 14 * q + 4 * (ur == 1) - 2 * (age - 3) +
                                    6 * re + rnorm(m, 0, 12), 1)))
    rows[[length(rows) + 1]] <- data.frame(
      province = provinces[h], psu = provinces[h] * 100L + j, weight = w,
      fpc = N_psu[h], urban_rural = ur, sex = sex, age_group = age,
      qualified = q, score = sc)
  }
}
synth0 <- do.call(rbind, rows)
synth0 <- cbind(id = seq_len(nrow(synth0)), synth0)
write_fixture(synth0, "data/synth.csv")

## ---- brr_pairs: first two PSUs (by psu id) of every stratum with >= 2 PSUs
keep_psu <- unlist(lapply(split(synth0$psu, synth0$province), function(p) {
  u <- sort(unique(p)); if (length(u) >= 2) u[1:2] else integer(0)
}))
brr0 <- synth0[synth0$psu %in% keep_psu, ]
## weight inflated so each pair represents its stratum: w * n_h / 2
nh_full <- tapply(synth0$psu, synth0$province, function(p) length(unique(p)))
brr0$weight <- round(brr0$weight * as.numeric(nh_full[as.character(brr0$province)]) / 2, 4)
write_fixture(brr0, "data/brr_pairs.csv")

## ---- population margins for synth ----------------------------------------
set.seed(20240612)
wt_cells <- xtabs(weight ~ province + urban_rural, data = synth0)
N_total <- round(sum(synth0$weight) * 1.08)
cells <- as.vector(wt_cells) * runif(length(wt_cells), 0.85, 1.20)
cells <- round(cells / sum(cells) * N_total)
cells[length(cells)] <- cells[length(cells)] + (N_total - sum(cells))
ps_tab <- expand.grid(province = as.integer(rownames(wt_cells)),
                      urban_rural = as.integer(colnames(wt_cells)))
ps_tab$total <- cells
ps_tab <- ps_tab[order(ps_tab$province, ps_tab$urban_rural), ]
write_fixture(ps_tab, "data/poststrat_province_urban.csv")
m_prov <- aggregate(total ~ province, data = ps_tab, FUN = sum)
m_ur   <- aggregate(total ~ urban_rural, data = ps_tab, FUN = sum)
m_sex  <- data.frame(sex = 1:2, total = c(round(N_total * 0.493), 0))
m_sex$total[2] <- N_total - m_sex$total[1]
age_p <- c(0.20, 0.23, 0.21, 0.19, 0.17)
m_age <- data.frame(age_group = 1:5, total = round(N_total * age_p))
m_age$total[5] <- N_total - sum(m_age$total[1:4])
write_fixture(m_sex, "data/margin_sex.csv")
write_fixture(m_ur, "data/margin_urban_rural.csv")
write_fixture(m_age, "data/margin_age_group.csv")
write_fixture(m_prov, "data/margin_province.csv")

## ============================================= RE-READ everything from disk
api_strat <- read_fixture("data/api_strat.csv")
api_clus1 <- read_fixture("data/api_clus1.csv")
api_clus2 <- read_fixture("data/api_clus2.csv")
synth     <- read_fixture("data/synth.csv")
brr_pairs <- read_fixture("data/brr_pairs.csv")
ps_tab    <- read_fixture("data/poststrat_province_urban.csv")
m_sex  <- read_fixture("data/margin_sex.csv")
m_ur   <- read_fixture("data/margin_urban_rural.csv")
m_age  <- read_fixture("data/margin_age_group.csv")
m_prov <- read_fixture("data/margin_province.csv")
stopifnot(identical(synth$weight, synth0$weight), identical(brr_pairs$weight, brr0$weight))
stopifnot(length(unique(c(sum(m_sex$total), sum(m_ur$total), sum(m_age$total),
                          sum(m_prov$total), sum(ps_tab$total)))) == 1)

## R-side helper columns (not in the CSVs)
synth$psu_chr <- as.character(synth$psu)  # used only for bootstrap generation

## ============================================================ SANITY CHECK
dstrat_chk <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = api_strat, fpc = ~fpc)
chk <- svymean(~api00, dstrat_chk)
cat(sprintf("SANITY svymean(~api00, dstrat) = %.9f  SE = %.11f\n", coef(chk), SE(chk)))
stopifnot(abs(coef(chk) - 662.287363159) < 5e-9, abs(SE(chk) - 9.40894080278) < 5e-11)
dclus1_chk <- svydesign(id = ~dnum, weights = ~pw, data = api_clus1, fpc = ~fpc)
chk1 <- svymean(~api00, dclus1_chk)
cat(sprintf("SANITY svymean(~api00, dclus1) = %.9f  SE = %.10f\n", coef(chk1), SE(chk1)))
stopifnot(abs(coef(chk1) - 644.169398907) < 5e-9, abs(SE(chk1) - 23.5422406938) < 5e-10)

api_vars <- c("api00", "sch_wide", "awards01", "hi700")

## =============================================== (a) Taylor, API data sets
d_strat_nofpc <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = api_strat)
d_strat_fpc   <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = api_strat)
d_clus1_nofpc <- svydesign(id = ~dnum, weights = ~pw, data = api_clus1)
d_clus1_fpc   <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = api_clus1)
d_clus2_fpc   <- svydesign(id = ~dnum + snum, weights = ~pw, fpc = ~fpc1 + fpc2, data = api_clus2)
## the pw column equals the weights implied by fpc1/fpc2 up to rounding
stopifnot(max(abs(weights(svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = api_clus2)) -
                  api_clus2$pw)) < 1e-10)

for (cs in list(
  list("a01_apistrat_nofpc", d_strat_nofpc, "stype"),
  list("a02_apistrat_fpc",   d_strat_fpc,   "stype"),
  list("a03_apiclus1_nofpc", d_clus1_nofpc, "stype"),
  list("a04_apiclus1_fpc",   d_clus1_fpc,   "stype"),
  list("a05_apiclus2_fpc",   d_clus2_fpc,   "stype"))) {
  r <- est_rows(cs[[2]], api_vars, by = cs[[3]])
  rt <- est_rows(cs[[2]], c("api00", "sch_wide"), by = cs[[3]], stat = "total")
  r <- blank_keys(rbind(r, rt), cs[[3]])
  write_fixture(r, file.path("expected", paste0(cs[[1]], ".csv")))
}

## ============================================ synth designs used below
syn_nofpc <- svydesign(ids = ~psu, strata = ~province, weights = ~weight, data = synth)
syn_fpc   <- svydesign(ids = ~psu, strata = ~province, weights = ~weight, fpc = ~fpc, data = synth)
synth_vars <- c("qualified", "score")

## ======================================= (b) single-PSU stratum on synth
for (opt in c("certainty", "adjust", "remove", "average")) {
  for (fp in c("nofpc", "fpc")) {
    des <- if (fp == "fpc") syn_fpc else syn_nofpc
    r <- with_lonely(opt, {
      a <- est_rows(des, synth_vars, by = "province")
      b <- est_rows(des, "qualified", by = "province", stat = "total")
      rbind(a, b)
    })
    r <- blank_keys(r, "province")
    write_fixture(r, sprintf("expected/b_synth_lonely_%s_%s.csv", opt, fp))
  }
}
fail_msgs <- list()
for (fp in c("nofpc", "fpc")) {
  des <- if (fp == "fpc") syn_fpc else syn_nofpc
  msg <- with_lonely("fail", tryCatch({ svymean(~qualified, des); "NO ERROR" },
                                      error = function(e) conditionMessage(e)))
  fail_msgs[[fp]] <- data.frame(design = paste0("synth_", fp), lonely_psu = "fail",
                                call = "svymean(~qualified, design)", error = gsub(",", ";", msg))
}
write_fixture(do.call(rbind, fail_msgs), "expected/b_synth_lonely_fail.csv")

## ============================= main synth design for cases c, d, e, g, h, i
## syn_nofpc with options(survey.lonely.psu = "adjust")
options(survey.lonely.psu = "adjust")
dsyn <- syn_nofpc

## ------------------------------------------------ (c) domains on synth
c1 <- est_rows(dsyn, synth_vars, by = "province")
write_fixture(blank_keys(c1, "province"), "expected/c01_synth_domain_province.csv")
c2 <- est_rows(dsyn, synth_vars, by = c("sex", "urban_rural"))
write_fixture(blank_keys(c2, c("sex", "urban_rural")), "expected/c02_synth_domain_sex_urban.csv")
c3 <- est_rows(syn_fpc, synth_vars, by = c("sex", "urban_rural"))
write_fixture(blank_keys(c3, c("sex", "urban_rural")), "expected/c03_synth_fpc_domain_sex_urban.csv")
c4 <- est_rows(dsyn, "qualified", by = "age_group")
write_fixture(blank_keys(c4, "age_group"), "expected/c04_synth_domain_age_group.csv")

## --------------------------------------- (d) post-stratification and raking
pop_ps <- data.frame(province = ps_tab$province, urban_rural = ps_tab$urban_rural, Freq = ps_tab$total)
d_ps <- postStratify(dsyn, ~province + urban_rural, pop_ps)
write_fixture(data.frame(id = synth$id, weight = weights(d_ps)), "expected/poststrat_weights.csv")
stopifnot(max(abs(xtabs(weights(d_ps) ~ province + urban_rural, synth) -
                  xtabs(Freq ~ province + urban_rural, pop_ps))) < 1e-6)
d1 <- rbind(est_rows(d_ps, synth_vars, by = "sex"),
            est_rows(d_ps, "qualified", by = "sex", stat = "total"))
write_fixture(blank_keys(d1, "sex"), "expected/d01_synth_poststrat.csv")

rake_margins <- list(~sex, ~urban_rural, ~age_group, ~province)
rake_pops <- list(
  data.frame(sex = m_sex$sex, Freq = m_sex$total),
  data.frame(urban_rural = m_ur$urban_rural, Freq = m_ur$total),
  data.frame(age_group = m_age$age_group, Freq = m_age$total),
  data.frame(province = m_prov$province, Freq = m_prov$total))

## replicate of rake()'s loop, only to count the passes (asserted equal below)
rake_trace <- function(design, sample.margins, population.margins, control) {
  epsilon <- if (control$epsilon < 1) control$epsilon * sum(weights(design, "sampling")) else control$epsilon
  strata <- lapply(sample.margins, function(m) model.frame(m, data = design$variables, na.action = na.fail))
  ff <- formula(paste("~", paste(unlist(lapply(sample.margins, all.vars)), collapse = "+")))
  oldtable <- svytable(ff, design); iter <- 0; converged <- FALSE; passes <- 0; delta <- NA
  while (iter < control$maxit) {
    design$postStrata <- NULL
    for (i in seq_along(strata))
      design <- postStratify(design, strata[[i]], population.margins[[i]], compress = FALSE)
    passes <- passes + 1
    newtable <- svytable(ff, design)
    delta <- max(abs(oldtable - newtable))
    if (delta < epsilon) { converged <- TRUE; break }
    oldtable <- newtable; iter <- iter + 1
  }
  list(passes = passes, converged = converged, last_delta = delta, epsilon_abs = epsilon,
       weights = weights(design, "sampling"))
}
margin_error <- function(w, data) {
  max(abs(c(tapply(w, data$sex, sum) - m_sex$total,
            tapply(w, data$urban_rural, sum) - m_ur$total,
            tapply(w, data$age_group, sum) - m_age$total,
            tapply(w, data$province, sum) - m_prov$total)))
}

ctrl_tight   <- list(maxit = 1000, epsilon = 1e-15, verbose = FALSE)
ctrl_default <- list(maxit = 10, epsilon = 1, verbose = FALSE)
d_rake <- rake(dsyn, rake_margins, rake_pops, control = ctrl_tight)
tr_tight <- rake_trace(dsyn, rake_margins, rake_pops, ctrl_tight)
stopifnot(identical(unname(tr_tight$weights), unname(weights(d_rake))))
d_rake_def <- suppressWarnings(rake(dsyn, rake_margins, rake_pops, control = ctrl_default))
tr_def <- suppressWarnings(rake_trace(dsyn, rake_margins, rake_pops, ctrl_default))
stopifnot(identical(unname(tr_def$weights), unname(weights(d_rake_def))))
write_fixture(data.frame(id = synth$id, weight = weights(d_rake)), "expected/raked_weights.csv")
write_fixture(data.frame(id = synth$id, weight = weights(d_rake_def)),
              "expected/raked_weights_default_control.csv")

## exact-projection SE for comparison: residualise z = x/w on all margin
## dummies by unweighted least squares (the limit of R's 10 sweeps)
exact_rake_se <- function(design, var) {
  w <- weights(design, "sampling"); y <- design$variables[[var]]
  xbar <- sum(w * y) / sum(w)
  x <- (y - xbar) * w / sum(w)
  X <- model.matrix(~ factor(sex) + factor(urban_rural) + factor(age_group) + factor(province),
                    data = design$variables)
  z <- x / w
  r <- qr.resid(qr(X), z) * w
  sqrt(survey:::svyrecvar(r, design$cluster, design$strata, design$fpc, postStrata = NULL)[1, 1])
}

d2 <- rbind(est_rows(d_rake, synth_vars, by = "urban_rural"),
            est_rows(d_rake, "qualified", by = "urban_rural", stat = "total"))
d2$se_exact_projection <- NA
for (v in synth_vars) {
  k <- which(d2$variable == v & is.na(d2$urban_rural) & d2$statistic == "mean")
  d2$se_exact_projection[k] <- exact_rake_se(d_rake, v)
}
write_fixture(blank_keys(d2, "urban_rural"), "expected/d02_synth_rake.csv")
d3 <- est_rows(d_rake_def, synth_vars, by = NULL)
write_fixture(d3, "expected/d03_synth_rake_default_control.csv")
write_fixture(data.frame(
  case = c("d02_synth_rake", "d03_synth_rake_default_control"),
  maxit = c(ctrl_tight$maxit, ctrl_default$maxit),
  epsilon_arg = c(ctrl_tight$epsilon, ctrl_default$epsilon),
  epsilon_abs = c(tr_tight$epsilon_abs, tr_def$epsilon_abs),
  passes = c(tr_tight$passes, tr_def$passes),
  converged = c(tr_tight$converged, tr_def$converged),
  last_delta = c(tr_tight$last_delta, tr_def$last_delta),
  max_abs_margin_error = c(margin_error(weights(d_rake), synth), margin_error(weights(d_rake_def), synth))),
  "expected/d_rake_info.csv")

## ------------------------------------------------------------ (e) trimming
trim_lower <- 40
trim_upper <- 160
d_trim_ns <- trimWeights(dsyn, lower = trim_lower, upper = trim_upper, strict = FALSE)
d_trim_s  <- trimWeights(dsyn, lower = trim_lower, upper = trim_upper, strict = TRUE)
w_ns <- weights(d_trim_ns); w_s <- weights(d_trim_s)
## replicate of trimWeights.survey.design2 to count the rounds (asserted equal)
trim_trace <- function(w, lower, upper, strict) {
  rounds <- 0
  repeat {
    outside <- w < lower | w > upper
    if (!any(outside)) break
    rounds <- rounds + 1
    wn <- pmax(lower, pmin(w, upper))
    wn[!outside] <- wn[!outside] + sum(w - wn) / sum(!outside)
    w <- wn
    if (!strict) break
  }
  list(w = w, rounds = rounds)
}
tt_ns <- trim_trace(weights(dsyn), trim_lower, trim_upper, FALSE)
tt_s  <- trim_trace(weights(dsyn), trim_lower, trim_upper, TRUE)
stopifnot(max(abs(tt_ns$w - w_ns)) < 1e-10, max(abs(tt_s$w - w_s)) < 1e-10)  # R stores 1/w, so 1-ulp differences
write_fixture(data.frame(id = synth$id, weight_original = synth$weight,
                         weight_trim_nonstrict = w_ns, weight_trim_strict = w_s),
              "expected/trimmed_weights.csv")
e1 <- rbind(cbind(trim = "none", est_rows(dsyn, synth_vars, by = NULL)),
            cbind(trim = "nonstrict", est_rows(d_trim_ns, synth_vars, by = NULL)),
            cbind(trim = "strict", est_rows(d_trim_s, synth_vars, by = NULL)))
e1$lower <- trim_lower; e1$upper <- trim_upper
e1$max_weight <- c(rep(max(synth$weight), 2), rep(max(w_ns), 2), rep(max(w_s), 2))
e1$min_weight <- c(rep(min(synth$weight), 2), rep(min(w_ns), 2), rep(min(w_s), 2))
e1$n_above_upper <- c(rep(sum(synth$weight > trim_upper), 2), rep(sum(w_ns > trim_upper), 2),
                      rep(sum(w_s > trim_upper), 2))
e1$n_below_lower <- c(rep(sum(synth$weight < trim_lower), 2), rep(sum(w_ns < trim_lower), 2),
                      rep(sum(w_s < trim_lower), 2))
e1$rounds <- c(0, 0, rep(tt_ns$rounds, 2), rep(tt_s$rounds, 2))
write_fixture(e1, "expected/e01_synth_trim.csv")

## ------------------------------------------------ (f) replicate designs
rep_rows <- function(rd, vars, by = NULL, stat = "mean") {
  out <- list()
  for (mse in c(FALSE, TRUE)) {
    rd$mse <- mse
    r <- est_rows(rd, vars, by = by, stat = stat)
    r$mse <- mse
    out[[length(out) + 1]] <- r
  }
  do.call(rbind, out)
}
rep_info <- list()
add_info <- function(case, rd) {
  rep_info[[length(rep_info) + 1]] <<- data.frame(
    case = case, type = rd$type, replicates = ncol(weights(rd, "analysis")),
    scale = rd$scale, rscales_min = min(rd$rscales), rscales_max = max(rd$rscales),
    rscales_all_equal = length(unique(rd$rscales)) == 1,
    rho = if (is.null(rd$rho)) NA else rd$rho, degf = degf(rd), stringsAsFactors = FALSE)
}
## rscales per replicate written in long format for JKn cases
rscale_rows <- list()
add_rscales <- function(case, rd) {
  rscale_rows[[length(rscale_rows) + 1]] <<- data.frame(case = case, replicate = seq_along(rd$rscales),
                                                        rscale = rd$rscales)
}

## Replicates of `type` of an api design without and with fpc, by stype:
## their rows (fpc FALSE, then TRUE) written to expected/<case>.csv, and
## each design's info as <case>_nofpc and <case>_fpc. Returns the designs.
fpc_cases <- function(case, d_nofpc, d_fpc, type) {
  rd_nofpc <- as.svrepdesign(d_nofpc, type = type)
  rd_fpc   <- as.svrepdesign(d_fpc, type = type)
  f <- rbind(cbind(fpc = FALSE, rep_rows(rd_nofpc, api_vars, by = "stype")),
             cbind(fpc = TRUE,  rep_rows(rd_fpc, api_vars, by = "stype")))
  write_fixture(blank_keys(f, "stype"), paste0("expected/", case, ".csv"))
  add_info(paste0(case, "_nofpc"), rd_nofpc); add_info(paste0(case, "_fpc"), rd_fpc)
  invisible(list(nofpc = rd_nofpc, fpc = rd_fpc))
}

## f01: JK1 on apiclus1 (without and with fpc)
fpc_cases("f01_apiclus1_jk1", d_clus1_nofpc, d_clus1_fpc, "JK1")

## f02: JKn on apistrat (without and with fpc)
jkn <- fpc_cases("f02_apistrat_jkn", d_strat_nofpc, d_strat_fpc, "JKn")
add_rscales("f02_apistrat_jkn_nofpc", jkn$nofpc); add_rscales("f02_apistrat_jkn_fpc", jkn$fpc)

## f03: JKn on synth; lonely PSU handled by jknweights() per option
f3 <- list()
for (opt in c("certainty", "adjust", "average")) {
  rd <- with_lonely(opt, as.svrepdesign(syn_nofpc, type = "JKn"))
  r <- with_lonely(opt, rep_rows(rd, synth_vars, by = "urban_rural"))
  f3[[opt]] <- cbind(lonely_psu = opt, r)
  add_info(paste0("f03_synth_jkn_", opt), rd); add_rscales(paste0("f03_synth_jkn_", opt), rd)
}
write_fixture(blank_keys(do.call(rbind, f3), "urban_rural"), "expected/f03_synth_jkn.csv")

## f04: bootstrap on synth, 50 replicates, seed 20240613.
## ids = psu as *character*: with numeric ids R's bootstratum() hits the
## sample(x) length-1 trap for the single-PSU stratum (see CASES.md).
syn_nofpc_chr <- svydesign(ids = ~psu_chr, strata = ~province, weights = ~weight, data = synth)
set.seed(20240613)
boot <- as.svrepdesign(syn_nofpc_chr, type = "bootstrap", replicates = 50)
boot_w <- weights(boot, "analysis")  # analysis weights = pw * multiplier
stopifnot(all(boot_w[synth$province == 32, ] == synth$weight[synth$province == 32]))
bw <- data.frame(id = synth$id, boot_w)
names(bw) <- c("id", paste0("rep_", 1:50))
write_fixture(bw, "data/boot_repweights.csv")
bw_in <- read_fixture("data/boot_repweights.csv")
boot2 <- svrepdesign(data = synth, repweights = as.matrix(bw_in[, paste0("rep_", 1:50)]),
                     weights = ~weight, type = "bootstrap", combined.weights = TRUE,
                     scale = boot$scale, rscales = boot$rscales, mse = FALSE)
stopifnot(isTRUE(all.equal(SE(svymean(~qualified, boot2)), SE(svymean(~qualified, boot)), tolerance = 1e-14)))
f4 <- rep_rows(boot, synth_vars, by = "urban_rural")
write_fixture(blank_keys(f4, "urban_rural"), "expected/f04_synth_bootstrap.csv")
add_info("f04_synth_bootstrap", boot)

## f05/f06/f07: BRR, Fay (rho = 0.5) and JK2 on brr_pairs
bp_des <- svydesign(ids = ~psu, strata = ~province, weights = ~weight, data = brr_pairs)
brr <- as.svrepdesign(bp_des, type = "BRR")
fay <- as.svrepdesign(bp_des, type = "Fay", fay.rho = 0.5)
## JK2: one replicate per stratum, first PSU (smaller psu id) weight 0,
## second PSU weight x2, every other stratum unchanged
strata_bp <- sort(unique(brr_pairs$province))
jk2_w <- sapply(strata_bp, function(h) {
  p <- sort(unique(brr_pairs$psu[brr_pairs$province == h]))
  mult <- ifelse(brr_pairs$province != h, 1, ifelse(brr_pairs$psu == p[1], 0, 2))
  brr_pairs$weight * mult
})
jk2 <- suppressWarnings(svrepdesign(data = brr_pairs, repweights = jk2_w, weights = ~weight,
                                    type = "JK2", combined.weights = TRUE, mse = FALSE))
for (nm in c("brr", "fay", "jk2")) {
  rd <- get(nm)
  rw <- data.frame(id = brr_pairs$id, weights(rd, "analysis"))
  names(rw) <- c("id", paste0("rep_", seq_len(ncol(rw) - 1)))
  write_fixture(rw, sprintf("data/%s_repweights.csv", nm))
}
## hadamard matrix R used (rows 2..(nstrata+1) drive the strata)
H <- hadamard(length(strata_bp))
Hdf <- data.frame(row = seq_len(nrow(H)), H); names(Hdf) <- c("row", paste0("rep_", seq_len(ncol(H))))
write_fixture(Hdf, "expected/f05_hadamard_used.csv")
f5 <- rep_rows(brr, synth_vars, by = "urban_rural")
write_fixture(blank_keys(f5, "urban_rural"), "expected/f05_brr_pairs_brr.csv")
f6 <- rep_rows(fay, synth_vars, by = "urban_rural")
write_fixture(blank_keys(f6, "urban_rural"), "expected/f06_brr_pairs_fay.csv")
f7 <- rep_rows(jk2, synth_vars, by = "urban_rural")
write_fixture(blank_keys(f7, "urban_rural"), "expected/f07_brr_pairs_jk2.csv")
## Taylor on brr_pairs for comparison
f5t <- est_rows(bp_des, synth_vars, by = "urban_rural")
write_fixture(blank_keys(f5t, "urban_rural"), "expected/f05_brr_pairs_taylor.csv")
add_info("f05_brr_pairs_brr", brr); add_info("f06_brr_pairs_fay", fay); add_info("f07_brr_pairs_jk2", jk2)

## f08: raking repeated on every replicate (bootstrap and JKn-certainty)
ipf_synth <- function(w) {
  for (it in 1:10000) {
    for (mg in list(list("sex", m_sex), list("urban_rural", m_ur), list("age_group", m_age),
                    list("province", m_prov))) {
      v <- synth[[mg[[1]]]]; tot <- mg[[2]]
      cur <- tapply(w, v, sum)
      fac <- tot$total[match(names(cur), as.character(tot[[mg[[1]]]]))] / cur
      w <- w * fac[match(as.character(v), names(cur))]
    }
    if (margin_error(w, synth) < 1e-9) break
  }
  w
}
f8 <- list(); rinfo <- list()
jkn_cert <- with_lonely("certainty", as.svrepdesign(syn_nofpc, type = "JKn"))
for (nm in c("bootstrap", "jkn_certainty")) {
  rd <- if (nm == "bootstrap") boot else jkn_cert
  rr <- with_lonely("certainty", rake(rd, rake_margins, rake_pops, control = ctrl_tight))
  aw <- weights(rr, "analysis")
  rep_err <- max(apply(aw, 2, margin_error, data = synth))
  stopifnot(margin_error(weights(rr, "sampling"), synth) < 1e-6)
  r <- with_lonely("certainty", rep_rows(rr, synth_vars, by = NULL))
  ## same variance with every replicate raked by plain IPF to |margin error| < 1e-9
  full_c <- ipf_synth(weights(rd, "sampling")); reps_c <- apply(weights(rd, "analysis"), 2, ipf_synth)
  r$se_fully_converged_replicates <- NA
  for (k in seq_len(nrow(r))) {
    y <- synth[[r$variable[k]]]
    th <- sum(full_c * y) / sum(full_c); thr <- colSums(reps_c * y) / colSums(reps_c)
    ctr <- if (r$mse[k]) th else mean(thr[rd$rscales > 0])
    r$se_fully_converged_replicates[k] <- sqrt(rd$scale * sum(rd$rscales * (thr - ctr)^2))
  }
  f8[[nm]] <- cbind(replicate_design = nm, r)
  rinfo[[nm]] <- data.frame(replicate_design = nm, max_abs_margin_error_full = margin_error(weights(rr, "sampling"), synth),
                            max_abs_margin_error_replicates = rep_err, degf_after_rake = degf(rr),
                            scale = rr$scale)
  if (nm == "bootstrap") {
    rw <- data.frame(id = synth$id, weight = weights(rr, "sampling"), aw)
    names(rw) <- c("id", "weight", paste0("rep_", 1:50))
    write_fixture(rw, "expected/f08_boot_raked_repweights.csv")
  }
}
write_fixture(do.call(rbind, f8), "expected/f08_rake_replicates.csv")
write_fixture(do.call(rbind, rinfo), "expected/f08_rake_replicates_info.csv")
add_info("f03_synth_jkn_certainty_for_f08", jkn_cert)
write_fixture(do.call(rbind, rep_info), "expected/f_replicate_info.csv")
write_fixture(do.call(rbind, rscale_rows), "expected/f_jkn_rscales.csv")

## ------------------------------------------- (g) svyciprop intervals
ci_rows <- function(design, design_name, var, by = NULL, all_by = by) {
  out <- list()
  for (d in domain_list(design, by)) {
    sub <- if (is.null(d$idx)) design else design[d$idx, ]
    f <- as.formula(paste0("~", var))
    dfd <- degf(sub)
    m <- svymean(f, sub)
    p <- unname(coef(m)[1]); v <- unname(vcov(m)[1, 1])
    zero_var <- sqrt(v) < 1e-12 * max(1, abs(p))
    if (zero_var) v <- 0   # rounding noise of an exactly-zero variance
    se <- sqrt(v)
    n_eff <- p * (1 - p) / v
    nrows <- nrow(sub)
    for (level in c(0.95, 0.90)) {
      res <- list()
      for (meth in c("logit", "beta", "mean", "likelihood", "asin", "xlogit")) {
        ci <- suppressWarnings(tryCatch(as.vector(attr(svyciprop(f, sub, method = meth, level = level), "ci")),
                                        error = function(e) c(NaN, NaN)))
        res[[meth]] <- c(ci, dfd)
      }
      ci <- suppressWarnings(as.vector(attr(svyciprop(f, sub, method = "mean", level = level, df = Inf), "ci")))
      if (zero_var) ci <- c(p, p)
      res[["mean_normal"]] <- c(ci, Inf)
      ## Wilson on the effective sample size
      for (wv in c("wilson", "wilson_t")) {
        z <- if (wv == "wilson") qnorm(1 - (1 - level) / 2) else suppressWarnings(qt(1 - (1 - level) / 2, dfd))
        ctr <- (p + z^2 / (2 * n_eff)) / (1 + z^2 / n_eff)
        hw  <- z / (1 + z^2 / n_eff) * sqrt(p * (1 - p) / n_eff + z^2 / (4 * n_eff^2))
        res[[wv]] <- c(ctr - hw, ctr + hw, if (wv == "wilson") Inf else dfd)
      }
      kg_ratio <- suppressWarnings((qt((1 - level) / 2, nrows - 1) / qt((1 - level) / 2, dfd))^2)
      for (meth in names(res)) {
        keys <- setNames(as.list(rep(NA, length(all_by))), all_by)
        if (!is.null(d$keys)) for (b in names(d$keys)) keys[[b]] <- d$keys[[b]][1]
        out[[length(out) + 1]] <- add_keys(keys,
          data.frame(design = design_name, variable = var, method = meth, level = level,
                     estimate = p, se = se, ci_low = res[[meth]][1], ci_high = res[[meth]][2],
                     df = res[[meth]][3], n = nrows, n_eff = n_eff,
                     n_eff_kg = if (meth == "beta") n_eff * kg_ratio else NA,
                     stringsAsFactors = FALSE))
      }
    }
  }
  do.call(rbind, out)
}
g1 <- rbind(ci_rows(dsyn, "synth_adjust", "qualified", NULL, all_by = "province"),
            ci_rows(dsyn, "synth_adjust", "qualified", "province"))
write_fixture(blank_keys(g1, "province"), "expected/g01_ciprop_synth_province.csv")
g2 <- rbind(ci_rows(dsyn, "synth_adjust", "qualified", NULL, all_by = c("sex", "urban_rural")),
            ci_rows(dsyn, "synth_adjust", "qualified", c("sex", "urban_rural")))
write_fixture(blank_keys(g2, c("sex", "urban_rural")), "expected/g02_ciprop_synth_sex_urban.csv")
g3 <- rbind(ci_rows(d_strat_fpc, "apistrat_fpc", "sch_wide", NULL, all_by = "stype"),
            ci_rows(d_strat_fpc, "apistrat_fpc", "sch_wide", "stype"),
            ci_rows(d_strat_fpc, "apistrat_fpc", "hi700", NULL, all_by = "stype"),
            ci_rows(d_strat_fpc, "apistrat_fpc", "hi700", "stype"),
            ci_rows(d_clus1_fpc, "apiclus1_fpc", "hi700", NULL, all_by = "stype"),
            ci_rows(d_clus1_fpc, "apiclus1_fpc", "hi700", "stype"))
write_fixture(blank_keys(g3, "stype"), "expected/g03_ciprop_api.csv")
## cross-check one domain set against svyby(..., svyciprop)
sb <- svyby(~qualified, ~province, dsyn, svyciprop, method = "beta", vartype = "ci")
gb <- g1[!is.na(g1$province) & g1$method == "beta" & g1$level == 0.95, ]
stopifnot(isTRUE(all.equal(gb$ci_low, unname(sb$ci_l), tolerance = 1e-13)),
          isTRUE(all.equal(gb$ci_high, unname(sb$ci_u), tolerance = 1e-13)))

## ------------------------------------------------------- (h) contrasts
con_row <- function(name, design_name, stat, df, level = 0.95) {
  est <- unname(coef(stat)[1]); se <- unname(SE(stat)[1])
  q <- qfac(level, df)
  data.frame(contrast = name, design = design_name, estimate = est, se = se,
             ci_low = est - q * se, ci_high = est + q * se, df = df,
             ci_low_normal = est - qnorm(1 - (1 - level) / 2) * se,
             ci_high_normal = est + qnorm(1 - (1 - level) / 2) * se, level = level,
             stringsAsFactors = FALSE)
}
h <- list()
for (v in synth_vars) {
  f <- as.formula(paste0("~", v))
  by_ur  <- svyby(f, ~urban_rural, dsyn, svymean, covmat = TRUE)
  by_sex <- svyby(f, ~sex, dsyn, svymean, covmat = TRUE)
  c_ur  <- svycontrast(by_ur, c(`1` = 1, `2` = -1))
  c_sex <- svycontrast(by_sex, c(`1` = 1, `2` = -1))
  ## cross-check with svyglm (same linearisation)
  g <- svyglm(as.formula(paste0(v, " ~ factor(urban_rural)")), dsyn)
  stopifnot(isTRUE(all.equal(-as.numeric(coef(g)[2]), as.numeric(coef(c_ur)), tolerance = 1e-10)),
            isTRUE(all.equal(as.numeric(SE(g)[2]), as.numeric(SE(c_ur)), tolerance = 1e-10)))
  h[[length(h) + 1]] <- con_row(paste0(v, ": urban(1) - rural(2)"), "synth_adjust", c_ur, degf(dsyn))
  h[[length(h) + 1]] <- con_row(paste0(v, ": male(1) - female(2)"), "synth_adjust", c_sex, degf(dsyn))
  ## covariance-ignoring SE (what you get if you forget the covariance)
  vv <- vcov(by_ur)
  h[[length(h)]]$se_ignoring_cov <- NA
  h[[length(h) - 1]]$se_ignoring_cov <- sqrt(vv[1, 1] + vv[2, 2])
  h[[length(h)]]$se_ignoring_cov <- sqrt(vcov(by_sex)[1, 1] + vcov(by_sex)[2, 2])
  ## province minus national: ratio contrast on totals (delta method)
  for (pv in sort(unique(synth$province))) {
    dd <- update(dsyn, yd = get(v) * (province == pv), ind = as.numeric(province == pv), one = 1)
    tt <- svytotal(as.formula(paste0("~yd + ind + ", v, " + one")), dd)
    cc <- svycontrast(tt, list(diff = parse(text = sprintf("yd/ind - %s/one", v))[[1]]))
    r <- con_row(sprintf("%s: province %d - national", v, pv), "synth_adjust", cc, degf(dsyn))
    r$se_ignoring_cov <- NA
    h[[length(h) + 1]] <- r
  }
  ## replicate version (BRR on brr_pairs): covariance from replicates
  by_brr <- svyby(f, ~urban_rural, brr, svymean, covmat = TRUE)
  cb <- svycontrast(by_brr, c(`1` = 1, `2` = -1))
  r <- con_row(paste0(v, ": urban(1) - rural(2)"), "brr_pairs_BRR_mse_FALSE", cb, degf(brr))
  r$se_ignoring_cov <- sqrt(vcov(by_brr)[1, 1] + vcov(by_brr)[2, 2])
  h[[length(h) + 1]] <- r
}
write_fixture(do.call(rbind, h), "expected/h01_contrasts.csv")

## ---------------------------------------------------- (i) design effects
deff_rows <- function(design, design_name, vars, by = NULL, all_by = by) {
  out <- list()
  for (d in domain_list(design, by)) {
    sub <- if (is.null(d$idx)) design else design[d$idx, ]
    w <- weights(sub, "sampling"); w <- w[w != 0]
    n <- length(w); mw <- mean(w)
    cv_pop <- sqrt(sum((w - mw)^2) / n) / mw          # divisor n
    cv_smp <- sd(w) / mw                              # divisor n-1
    for (v in vars) {
      f <- as.formula(paste0("~", v))
      a <- svymean(f, sub, deff = TRUE); b <- svymean(f, sub, deff = "replace")
      keys <- setNames(as.list(rep(NA, length(all_by))), all_by)
      if (!is.null(d$keys)) for (bb in names(d$keys)) keys[[bb]] <- d$keys[[bb]][1]
      out[[length(out) + 1]] <- add_keys(keys,
        data.frame(design = design_name, variable = v, deff = unname(deff(a))[1],
                   deff_replace = unname(deff(b))[1], n = n, sum_w = sum(w), sum_w2 = sum(w^2),
                   cv_weights = cv_pop, kish_deff = 1 + cv_pop^2,
                   kish_deff_check = n * sum(w^2) / sum(w)^2,
                   cv_weights_sd_n1 = cv_smp, stringsAsFactors = FALSE))
    }
  }
  do.call(rbind, out)
}
i1 <- rbind(deff_rows(dsyn, "synth_adjust", synth_vars, NULL, all_by = "province"),
            deff_rows(dsyn, "synth_adjust", synth_vars, "province"),
            deff_rows(d_rake, "synth_raked", synth_vars, NULL, all_by = "province"),
            deff_rows(d_trim_s, "synth_trim_strict", synth_vars, NULL, all_by = "province"))
write_fixture(blank_keys(i1, "province"), "expected/i01_deff_synth.csv")
i2 <- rbind(deff_rows(d_strat_nofpc, "apistrat_nofpc", api_vars, NULL, all_by = "stype"),
            deff_rows(d_strat_fpc, "apistrat_fpc", api_vars, NULL, all_by = "stype"),
            deff_rows(d_strat_fpc, "apistrat_fpc", api_vars, "stype"),
            deff_rows(d_clus1_fpc, "apiclus1_fpc", api_vars, NULL, all_by = "stype"),
            deff_rows(d_clus2_fpc, "apiclus2_fpc", api_vars, NULL, all_by = "stype"))
write_fixture(blank_keys(i2, "stype"), "expected/i02_deff_api.csv")

## ------------------------------------------------ design summary (degf etc)
dsum <- function(name, des) {
  data.frame(design = name, n = nrow(des$variables), degf = degf(des),
             n_psu = length(unique(des$cluster[, 1])), n_strata = length(unique(des$strata[, 1])),
             sum_weights = sum(weights(des)))
}
write_fixture(rbind(dsum("apistrat_nofpc", d_strat_nofpc), dsum("apistrat_fpc", d_strat_fpc),
                    dsum("apiclus1_nofpc", d_clus1_nofpc), dsum("apiclus1_fpc", d_clus1_fpc),
                    dsum("apiclus2_fpc", d_clus2_fpc), dsum("synth_nofpc", syn_nofpc),
                    dsum("synth_fpc", syn_fpc), dsum("brr_pairs", bp_des)),
              "expected/design_summary.csv")

cat("Done. Files written to data/ and expected/\n")
sessionInfo()$otherPkgs$survey$Version
