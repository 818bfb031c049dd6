/* tests/model/unbuf_slot.pml — a SPIN model of the rendezvous slot of
 * chan/unbuf.c, checked by tests/model/check_model.sh (ctest model_unbuf_slot).
 *
 * Modelled: posting (EMPTY -> WRITING, value and parker published while the
 * slot is owned, -> SEND/RECV), engaging (-> TAKING) and settling (-> EMPTY
 * with seq + 1, or -> FILLED), the poster's wait (spin folded away; arming
 * SLEEP with a CAS on the state it saw pending; a parker that blocks until
 * unparked), retracting at a deadline (CAS back to EMPTY, seq + 1), and
 * close (sets CLOSED; unparks a sleeping poster whose post nobody engaged).
 * Each atomic block is one CAS or one load-and-act of the C code; plain
 * loads and stores are separate steps. Memory is sequentially consistent:
 * this checks the protocol's logic; the orderings are argued in the C file
 * and exercised by the TSan and delay-injection builds. The queue path is
 * left out: an operation that finds the slot busy retries or gives up.
 *
 * Checked: no deadlock (every process ends: no poster sleeps forever, i.e.
 * no lost wakeup), every unpark reaches a parker that is armed and owed
 * exactly one (no stray unpark: the bug fixed in a930d60, where a parker
 * pointer stored after the post became visible could overwrite a newer
 * post's, is found within 60 steps if the pointer is published late), and
 * delivery: a value is received at most once, and received iff its send
 * reported delivery.
 *
 * Configurations (cpp): NR = 1 (default) or 2 receivers; 2 senders, one of
 * them with deadlines; receivers with and without deadlines; one close.
 * LATE_PARK models the protocol before a930d60 (the parker pointer stored
 * after the post was visible): the check must fail on it (ctest
 * model_unbuf_slot_late_park, expected to fail), which keeps the model from
 * silently becoming vacuous.
 */

#define EMPTY   0
#define WRITING 1
#define SEND    2
#define RECV    3
#define TAKING  4
#define FILLED  5

#define NS 2            /* senders: values 1..NS */
#ifndef NR
#define NR 1            /* receivers */
#endif
#define NT (NS + NR)    /* thread ids: senders 0..NS-1, receivers NS.. */

byte seq = 0;           /* x = seq | kind | SLEEP | CLOSED */
byte kind = EMPTY;
bool sleep = false;
bool closed = false;
byte park = 255;        /* the parker published with the current post */
byte buf = 0;           /* the value in the slot */

byte pk[NT];            /* parker: 0 idle, 1 sleeping (in the kernel), 2 unparked */
bool armed[NT];         /* ghost: SLEEP set by t and its unpark not consumed */
byte got[NS + 1];       /* receipts per value */
bool delivered[NS + 1]; /* the send of v returned 0 */
byte unparks[NT];       /* ghost: unparks issued to t and not yet consumed */

inline unpark(t) {
    assert(armed[t]);            /* nobody unparks a parker not waiting */
    unparks[t]++;
    assert(unparks[t] == 1);
    pk[t] = 2
}

/* settle by the slot's owner: kind := to, seq += bump, SLEEP cleared */
inline settle(to, bump) {
    atomic {
        p = park;
        wasSleep = sleep;
        kind = to; seq = seq + bump; sleep = false
    }
    if :: wasSleep -> unpark(p) :: else -> skip fi
}

/* the poster waits for its post (kind mine at seq k) to settle */
inline wait_settled(me, mine, canTimeout) {
    do
    :: atomic { (seq != k || (kind != TAKING && !(kind == mine && !closed))) } -> break
#ifndef LATE_PARK
    :: atomic { seq == k && (kind == TAKING || (kind == mine && !closed)) && !armed[me] && !sleep
               -> pk[me] = 0; sleep = true; armed[me] = true }
#else
    /* the protocol before a930d60: load x, store the parker pointer, then
       CAS SLEEP in against the value loaded */
    :: atomic { seq == k && (kind == TAKING || (kind == mine && !closed)) && !armed[me] && !sleep
               -> os = seq; ok = kind } ->
         park = me;
         atomic { if :: seq == os && kind == ok && !sleep && !closed ->
                         pk[me] = 0; sleep = true; armed[me] = true
                      :: else -> skip fi }
#endif
    :: atomic { armed[me] && pk[me] == 2 -> armed[me] = false; unparks[me]-- }
    :: canTimeout && !timedout && tmo < 2 ->
         atomic {
           if
           :: seq == k && kind == mine && !closed ->
                seq++; kind = EMPTY; sleep = false; armed[me] = false; timedout = true; tmo++
           :: else -> skip
           fi
         };
         if :: timedout -> break :: else -> skip fi
    od;
    /* consume an unpark we are owed */
    if
    :: armed[me] -> atomic { pk[me] == 2 -> armed[me] = false; unparks[me]-- }
    :: else -> skip
    fi
}

proctype Sender(byte me; bool canTimeout) {
    byte v = me + 1, k, p, tmo = 0, os, ok;
    bool wasSleep, timedout = false;
retry:
    if
    :: atomic { !closed && kind == RECV -> kind = TAKING } ->     /* x_give */
         buf = v;
         settle(FILLED, 0);
         delivered[v] = true;
         goto done
    :: atomic { closed -> skip } -> goto done
    :: atomic { !closed && kind == EMPTY && !sleep -> k = seq; kind = WRITING } ->  /* x_post */
         pk[me] = 0; buf = v;
#ifndef LATE_PARK
         park = me;
#endif
         atomic { kind = SEND };
         wait_settled(me, SEND, canTimeout);
         if
         :: timedout -> skip
         :: !timedout && seq != k -> delivered[v] = true
         :: else -> assert(closed && kind == SEND)
         fi;
         goto done
    :: canTimeout -> goto done        /* a poll or deadline that found no slot */
    :: atomic { kind == WRITING || kind == SEND || kind == TAKING || kind == FILLED || (kind == RECV && closed) } -> goto retry
    fi;
done:
    skip
}

proctype Receiver(byte me; bool canTimeout; byte want) {
    byte k, p, r, n = 0, tmo = 0, os, ok;
    bool wasSleep, timedout;
again:
    if :: n == want -> goto finished :: else -> skip fi;
    timedout = false;
retry:
    if
    :: atomic { !closed && kind == SEND -> kind = TAKING } ->      /* x_take */
         r = buf;
         settle(EMPTY, 1);
         got[r]++; n++;
         goto again
    :: atomic { closed -> skip } -> goto finished
    :: atomic { !closed && kind == EMPTY && !sleep -> k = seq; kind = WRITING } ->
         pk[me] = 0;
#ifndef LATE_PARK
         park = me;
#endif
         atomic { kind = RECV };
         wait_settled(me, RECV, canTimeout);
         if
         :: timedout -> goto again
         :: !timedout && seq == k && kind == FILLED ->
              r = buf;
              settle(EMPTY, 1);
              got[r]++; n++
         :: else -> assert(closed); goto finished
         fi;
         goto again
    :: canTimeout -> goto finished
    :: atomic { kind == WRITING || kind == SEND || kind == TAKING || kind == FILLED || (kind == RECV && closed) } -> goto retry
    fi;
finished:
    skip
}

proctype Closer() {
    byte p;
    bool wake;
    atomic {
        wake = sleep && (kind == SEND || kind == RECV);
        p = park;
        closed = true;
        if :: wake -> sleep = false :: else -> skip fi
    };
    if :: wake -> unpark(p) :: else -> skip fi
}

init {
    atomic {
        run Sender(0, false);
        run Sender(1, true);
        run Receiver(NS, true, NS);
#if NR > 1
        run Receiver(NS + 1, false, 1);
#endif
        run Closer()
    };
    (_nr_pr == 1);
    byte v;
    for (v : 1 .. NS) {
        assert(got[v] <= 1);
        assert(got[v] != 1 || delivered[v]);
        assert(!delivered[v] || got[v] == 1)
    }
}
