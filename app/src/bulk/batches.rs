//! The look-ups of a preview: a file's names go to the server in batches, several in flight at
//! once, so a 1M-row file is never one request and the page can show progress.
use futures::StreamExt;
use std::future::Future;

/// Asks `call` about `items`, `batch` at a time, keeping `concurrency` calls in flight: a new
/// call starts as soon as one ends, and replies are merged while later calls are still out (in
/// rounds, the page merged with nothing in flight and the server idled meanwhile). `merge` gets
/// each batch with its reply in the items' order; `progress(done, total)` (in batches) is told
/// first and after each merge. The first error ends it; calls in flight are dropped.
pub async fn in_batches<'a, T, R, E, Fut>(
    items: &'a [T],
    batch: usize,
    concurrency: usize,
    progress: impl Fn(usize, usize),
    call: impl Fn(&'a [T]) -> Fut,
    mut merge: impl FnMut(&'a [T], R),
) -> Result<(), E>
where
    Fut: Future<Output = Result<R, E>>,
{
    let mut batches = items.chunks(batch.max(1));
    let total = batches.len();
    progress(0, total);
    // The calls' own futures in order, their batches beside them (no wrapping future: the load
    // tool spawns this on tokio, and a closure-made stream loses `Send` there).
    let mut in_flight = futures::stream::FuturesOrdered::new();
    let mut asked = std::collections::VecDeque::new();
    for b in batches.by_ref().take(concurrency.max(1)) {
        in_flight.push_back(call(b));
        asked.push_back(b);
    }
    let mut done = 0;
    while let Some(reply) = in_flight.next().await {
        let reply = reply?;
        if let Some(b) = batches.next() {
            in_flight.push_back(call(b));
            asked.push_back(b);
        }
        let b = asked.pop_front().expect("a batch per call");
        merge(b, reply);
        done += 1;
        progress(done, total);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    fn block<F: Future>(f: F) -> F::Output {
        futures::executor::block_on(f)
    }

    #[test]
    fn every_item_is_asked_once_in_order_with_progress_per_reply() {
        let items: Vec<u32> = (0..10).collect();
        let asked = RefCell::new(Vec::new());
        let seen = RefCell::new(Vec::new());
        let progress = RefCell::new(Vec::new());
        block(in_batches(
            &items,
            3,
            2,
            |d, t| progress.borrow_mut().push((d, t)),
            |b: &[u32]| {
                asked.borrow_mut().push(b.to_vec());
                let sum: u32 = b.iter().sum();
                async move { Ok::<_, ()>(sum) }
            },
            |b, sum| seen.borrow_mut().push((b[0], sum)),
        ))
        .unwrap();
        assert_eq!(
            asked.into_inner(),
            vec![vec![0, 1, 2], vec![3, 4, 5], vec![6, 7, 8], vec![9]]
        );
        assert_eq!(seen.into_inner(), vec![(0, 3), (3, 12), (6, 21), (9, 9)]);
        assert_eq!(
            progress.into_inner(),
            vec![(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
        );
    }

    #[test]
    fn an_error_stops_the_calls_after_the_window_it_fell_in() {
        let items: Vec<u32> = (0..10).collect();
        let asked = RefCell::new(Vec::new());
        let merged = RefCell::new(Vec::new());
        let out = block(in_batches(
            &items,
            2,
            2,
            |_, _| {},
            |b: &[u32]| {
                asked.borrow_mut().push(b[0]);
                let bad = b.contains(&4);
                async move {
                    if bad {
                        Err("down")
                    } else {
                        Ok(())
                    }
                }
            },
            |b, ()| merged.borrow_mut().push(b[0]),
        ));
        assert_eq!(out, Err("down"));
        // The batches before the failing one were merged; with two in flight, at most the one
        // after it was asked too, and never the last.
        assert_eq!(merged.into_inner(), vec![0, 2]);
        let asked = asked.into_inner();
        assert!(asked.starts_with(&[0, 2, 4]), "{asked:?}");
        assert!(!asked.contains(&8), "{asked:?}");
    }
}
