/* reports.c — a worker's run reports as the store thread applies them,
 * and what each makes visible after the commit (writer.h). */
#include "writer_internal.h"

#include "log.h"

int reports_apply(writer *w, wreq *r, char *err, size_t errlen)
{
    int rc = 0;
    switch (r->kind) {
    case WQ_START:
        rc = store_run_start(w->st, r->run_id, err, errlen);
        break;
    case WQ_CURVE:
        rc = store_curve_insert(w->st, r->run_id, r->u.curve.pts,
                                r->u.curve.n, err, errlen);
        break;
    case WQ_CHECKPOINT: {
        checkpoint ck = {r->u.ck.data, r->u.ck.len, r->u.ck.step};
        rc = store_checkpoint_put(w->st, r->run_id, &ck, err, errlen);
        break;
    }
    case WQ_FINISH:
        rc = store_run_finish_arrays(w->st, r->run_id, r->u.finish.state,
                                     r->u.finish.result, r->u.finish.arrays,
                                     r->u.finish.error, err, errlen);
        break;
    case WQ_REQUEUE:
        rc = store_run_requeue(w->st, r->run_id, err, errlen);
        break;
    case WQ_PAIR: {
        bool stored;
        rc = store_pair_insert(w->st, r->job_id, r->run_id, r->u.pair.run_b,
                               r->u.pair.pair, &stored, err, errlen);
        if (rc == 0 && !stored)
            log_debug("seed pair of runs %lld and %lld: not stored (a run "
                      "is gone, or the pair was stored already)",
                      (long long)r->run_id, (long long)r->u.pair.run_b);
        break;
    }
    case WQ_LOST: {
        bool failed = false;
        rc = store_run_lost(w->st, r->run_id, r->u.finish.error, &failed,
                            err, errlen);
        r->u.finish.state = failed ? RUN_FAILED : RUN_QUEUED;
        break;
    }
    default:
        break;
    }
    wreq_set_rc(r, rc, err);
    if (rc < 0 && !writer_is_fault(rc))
        log_warn("run %lld: %s", (long long)r->run_id, err);
    return rc;
}

void reports_after(writer *w, wreq *r)
{
    writer_event *ev;
    switch (r->kind) {
    case WQ_START:
        if (r->rc == 0)
            wev_add(w, WEV_RUN_STARTED, r);
        break;
    case WQ_FINISH:
        sched_release(w->sc, r->run_id);
        if (r->rc == 0 && (ev = wev_add(w, WEV_RUN_ENDED, r)))
            ev->u.state = r->u.finish.state;
        /* Only a run that kept its parameters (more arrays than u_star)
         * can end a seed pair: the other 99% of runs cost the pairs
         * thread nothing, not even a query (test_memory's 100,000 runs
         * grew its reader's page cache). */
        if (r->rc == 0 && r->u.finish.state == RUN_STATE_DONE && w->on_done &&
            r->u.finish.arrays && r->u.finish.arrays->n > 1)
            w->on_done(w->on_done_ctx, r->job_id, r->run_id);
        break;
    case WQ_LOST:
        if (r->rc == 0 && r->u.finish.state == RUN_FAILED) {
            sched_release(w->sc, r->run_id);
            if ((ev = wev_add(w, WEV_RUN_ENDED, r)))
                ev->u.state = RUN_FAILED;
            break;
        }
        /* queued again, as a suspended run is */
        __attribute__((fallthrough));
    case WQ_REQUEUE:
        if (r->rc == 0) {
            wev_add(w, WEV_RUN_REQUEUED, r);
            /* At shutdown the scheduler refuses (and releases); otherwise
             * (an engine that suspended on its own) the run waits its
             * turn again, with the estimate it was queued with. */
            (void)sched_requeue(w->sc, r->run_id);
        } else {
            sched_release(w->sc, r->run_id);
        }
        break;
    default:
        break;
    }
}
