//! The page's parse worker: a Web Worker running this same WebAssembly (`public/parse-worker.js`
//! loads it and calls the frontend's `parse_part` export), which parses the second part of a
//! large file while the page parses the first (`lookup_client::PartParser`).
use super::lookup_client::PartParser;

/// The page's worker, started on first use (the upload page asks for it as it mounts, so the
/// module is compiled before a file is chosen); `None` outside the browser or where no worker
/// can be started (the page then parses every file itself).
pub fn part_parser() -> Option<&'static dyn PartParser> {
    #[cfg(feature = "hydrate")]
    {
        thread_local! {
            static PARSER: std::cell::OnceCell<Option<&'static imp::WorkerParser>> =
                const { std::cell::OnceCell::new() };
        }
        PARSER
            .with(|p| {
                *p.get_or_init(|| imp::WorkerParser::start().map(|w| &*Box::leak(Box::new(w))))
            })
            .map(|w| w as &dyn PartParser)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        None
    }
}

#[cfg(feature = "hydrate")]
mod imp {
    use super::super::lookup_client::PartParser;
    use super::super::parse::Part;
    use futures::channel::oneshot;
    use futures::future::{ready, LocalBoxFuture};
    use futures::FutureExt;
    use js_sys::{Array, Object, Reflect, Uint8Array};
    use std::cell::{Cell, RefCell};
    use std::collections::HashMap;
    use std::rc::Rc;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;

    type Waiting = Rc<RefCell<HashMap<u32, oneshot::Sender<Option<Vec<u8>>>>>>;

    pub struct WorkerParser {
        worker: web_sys::Worker,
        next: Cell<u32>,
        /// The parts asked for and not yet answered, by message id.
        waiting: Waiting,
        /// Set when the worker failed as a whole (its script would not load): no more parts.
        broken: Rc<Cell<bool>>,
    }

    impl WorkerParser {
        pub fn start() -> Option<Self> {
            let options = web_sys::WorkerOptions::new();
            options.set_type(web_sys::WorkerType::Module);
            let worker = web_sys::Worker::new_with_options("/parse-worker.js", &options).ok()?;
            let waiting = Waiting::default();
            let broken = Rc::new(Cell::new(false));
            let answered = waiting.clone();
            let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
                move |event: web_sys::MessageEvent| {
                    let data = event.data();
                    let field = |name: &str| Reflect::get(&data, &JsValue::from_str(name)).ok();
                    let id = field("id").and_then(|v| v.as_f64()).map(|v| v as u32);
                    let part = field("part")
                        .and_then(|v| v.dyn_into::<Uint8Array>().ok())
                        .map(|a| a.to_vec());
                    // A preview replaced meanwhile dropped its receiver: the part is dropped.
                    let ms = |name| field(name).and_then(|v| v.as_f64()).unwrap_or(f64::NAN);
                    super::super::browser::mark(&format!(
                        "upload: the worker's part: module ready after {:.0} ms, parsed in {:.0} ms",
                        ms("waited"),
                        ms("parsed")
                    ));
                    if let Some(sender) = id.and_then(|id| answered.borrow_mut().remove(&id)) {
                        let _ = sender.send(part);
                    }
                },
            );
            worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            on_message.forget();
            let (failed, gone) = (waiting.clone(), broken.clone());
            let on_error = Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
                gone.set(true);
                // Dropped senders answer `None`: the page reads those parts itself.
                failed.borrow_mut().clear();
            });
            worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
            on_error.forget();
            Some(Self {
                worker,
                next: Cell::new(0),
                waiting,
                broken,
            })
        }
    }

    impl PartParser for WorkerParser {
        fn start(&self, part: Part<'_>) -> LocalBoxFuture<'static, Option<Vec<u8>>> {
            if self.broken.get() {
                return ready(None).boxed_local();
            }
            let id = self.next.get();
            self.next.set(id.wrapping_add(1));
            // Copies out of this module's memory, handed over (not copied again) to the worker.
            let (head, tail) = (Uint8Array::from(part.head), Uint8Array::from(part.tail));
            let message = Object::new();
            let set = |name: &str, value: &JsValue| {
                Reflect::set(&message, &JsValue::from_str(name), value).is_ok()
            };
            let transfer = Array::of2(&head.buffer(), &tail.buffer());
            let (sender, receiver) = oneshot::channel();
            self.waiting.borrow_mut().insert(id, sender);
            let sent = set("id", &JsValue::from(id))
                && set("head", &head)
                && set("tail", &tail)
                && set("delimiter", &JsValue::from(part.delimiter))
                && self
                    .worker
                    .post_message_with_transfer(&message, &transfer)
                    .is_ok();
            if !sent {
                self.waiting.borrow_mut().remove(&id);
                return ready(None).boxed_local();
            }
            receiver.map(|answer| answer.ok().flatten()).boxed_local()
        }
    }
}
