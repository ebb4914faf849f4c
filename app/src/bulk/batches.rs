//! The look-up rounds of a preview: a file's names go to the server in batches, several in
//! flight at once, so a 1M-row file is never one request and the page can show progress.
use std::future::Future;

/// Asks `call` about `items`, `batch` at a time and `concurrency` calls in flight per round.
/// `merge` gets each batch with its reply in the items' order; `progress(done, total)` (in
/// batches) is told before each round. The first error ends the rounds.
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
    let batches: Vec<&'a [T]> = items.chunks(batch.max(1)).collect();
    let total = batches.len();
    let mut done = 0;
    for round in batches.chunks(concurrency.max(1)) {
        progress(done, total);
        let replies = futures::future::join_all(round.iter().map(|b| call(b))).await;
        for (b, reply) in round.iter().zip(replies) {
            merge(b, reply?);
        }
        done += round.len();
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
    fn every_item_is_asked_once_in_order_with_progress_per_round() {
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
        assert_eq!(progress.into_inner(), vec![(0, 4), (2, 4)]);
    }

    #[test]
    fn an_error_stops_later_rounds() {
        let items: Vec<u32> = (0..10).collect();
        let calls = RefCell::new(0);
        let out = block(in_batches(
            &items,
            2,
            2,
            |_, _| {},
            |b: &[u32]| {
                *calls.borrow_mut() += 1;
                let bad = b.contains(&4);
                async move {
                    if bad {
                        Err("down")
                    } else {
                        Ok(())
                    }
                }
            },
            |_, _| {},
        ));
        assert_eq!(out, Err("down"));
        // The failing round (batches 2 and 3) ran; none after it.
        assert_eq!(calls.into_inner(), 4);
    }
}
