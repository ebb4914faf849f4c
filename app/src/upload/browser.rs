//! The few things only a browser can do: read a chosen file, send chunks as multipart forms,
//! hand server functions' bodies to `fetch` as Blobs, offer a download, read the clock. On the
//! server these are never called; they answer an error.
use crate::error::AppError;

/// Milliseconds from a monotonic clock.
pub fn now_ms() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.performance())
            .map(|p| p.now())
            .unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0.0
    }
}

/// Lets the browser run before the page goes on, so answers that have come are delivered,
/// requests are sent and the page is painted between two steps of a long parse.
///
/// A task of the page's own scheduler (`scheduler.postTask`, default priority: it normally runs
/// after the tasks already queued), else a 0 ms timer. Not a message to itself: Chromium sends
/// it through another thread, 5-35 ms on the bench's busy 2-core machine; and a nested timer is
/// held to 4 ms. `postTask` is reached through `Reflect`: web-sys has it only as unstable API.
pub async fn pause() {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::{JsCast, JsValue};
        let global = js_sys::global();
        let post_task = js_sys::Reflect::get(&global, &JsValue::from_str("scheduler"))
            .ok()
            .filter(JsValue::is_object)
            .and_then(|scheduler| {
                let post = js_sys::Reflect::get(&scheduler, &JsValue::from_str("postTask")).ok()?;
                Some((scheduler, post.dyn_into::<js_sys::Function>().ok()?))
            });
        let set_timeout = js_sys::Reflect::get(&global, &JsValue::from_str("setTimeout"))
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        let resumed = js_sys::Promise::new(&mut |resolve, _| {
            let posted = post_task
                .as_ref()
                .is_some_and(|(scheduler, post)| post.call1(scheduler, &resolve).is_ok())
                || set_timeout
                    .as_ref()
                    .is_some_and(|f| f.call1(&global, &resolve).is_ok());
            // Neither could be asked: go on at once rather than never.
            if !posted {
                let _ = resolve.call0(&JsValue::NULL);
            }
        });
        let _ = wasm_bindgen_futures::JsFuture::from(resumed).await;
    }
}

/// How a file is read: as a few slices asked at once, each copied into the parse's buffer as it
/// comes. Read whole, its copy into WebAssembly was one task of 59-107 ms on a 54 MB file, the
/// page's longest (README, Benchmarks, session 21); a slice's copy is a quarter of that.
#[cfg(any(feature = "hydrate", test))]
mod slices {
    pub const READ_PARTS: usize = 4;
    pub const READ_PART_MIN: usize = 1 << 20;

    /// The parts as byte ranges covering `0..size` in order: `READ_PARTS` about equal parts, none
    /// but the last under `READ_PART_MIN` bytes (a small file is one part).
    pub fn read_parts(size: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
        let part = size.div_ceil(READ_PARTS).max(READ_PART_MIN);
        (0..size)
            .step_by(part)
            .map(move |start| start..(start + part).min(size))
    }
}

#[cfg(feature = "hydrate")]
fn unreadable() -> String {
    "The browser could not read the file.".to_string()
}

/// Asks for `file`'s slices (`slices::read_parts`), all at once: each its range and its read.
#[cfg(feature = "hydrate")]
fn ask_slices(
    file: &web_sys::File,
) -> Result<Vec<(std::ops::Range<usize>, wasm_bindgen_futures::JsFuture)>, String> {
    slices::read_parts(file.size() as usize)
        .map(|part| {
            let blob = file
                .slice_with_f64_and_f64(part.start as f64, part.end as f64)
                .map_err(|_| unreadable())?;
            Ok((
                part,
                wasm_bindgen_futures::JsFuture::from(blob.array_buffer()),
            ))
        })
        .collect()
}

/// A slice as read, checked against the range asked: a file changed on disk since it was
/// chosen reads short or long, and is refused.
#[cfg(feature = "hydrate")]
fn slice_read(
    part: &std::ops::Range<usize>,
    read: Result<wasm_bindgen::JsValue, wasm_bindgen::JsValue>,
) -> Result<js_sys::Uint8Array, String> {
    let array = js_sys::Uint8Array::new(&read.map_err(|_| unreadable())?);
    if array.length() as usize != part.len() {
        return Err(unreadable());
    }
    Ok(array)
}

#[cfg(feature = "hydrate")]
pub async fn read_file(file: &web_sys::File) -> Result<Vec<u8>, String> {
    use futures::{stream::FuturesUnordered, StreamExt};
    let mut reads: FuturesUnordered<_> = ask_slices(file)?
        .into_iter()
        .map(|(part, read)| async move { (part, read.await) })
        .collect();
    let mut bytes = Filling::new(file.size() as usize);
    while let Some((part, read)) = reads.next().await {
        bytes.put(part.clone(), &slice_read(&part, read)?)?;
    }
    bytes.finish()
}

/// A file's buffer in WebAssembly, filled slice by slice with nothing written before: made
/// zeroed (`vec![0; size]`), a 54 MB file's buffer took a 45 ms task of the page thread just
/// after the slices were asked for, and the first slice could not be taken in before it ended
/// (README, Benchmarks, session 23).
#[cfg(feature = "hydrate")]
struct Filling {
    bytes: Vec<u8>,
    size: usize,
    /// The parts copied so far: disjoint ranges of `0..size`.
    put: Vec<std::ops::Range<usize>>,
}

#[cfg(feature = "hydrate")]
impl Filling {
    fn new(size: usize) -> Self {
        Filling {
            bytes: Vec::with_capacity(size),
            size,
            put: Vec::new(),
        }
    }

    /// Copies the slice read for `part` (as `slice_read` checked it: `part.len()` bytes) into
    /// its place; a part outside the file or over one already put is refused.
    fn put(
        &mut self,
        part: std::ops::Range<usize>,
        array: &js_sys::Uint8Array,
    ) -> Result<(), String> {
        let overlaps = |p: &std::ops::Range<usize>| p.start < part.end && part.start < p.end;
        if part.end > self.size
            || array.length() as usize != part.len()
            || self.put.iter().any(overlaps)
        {
            return Err(unreadable());
        }
        array.copy_to_uninit(&mut self.bytes.spare_capacity_mut()[part.clone()]);
        self.put.push(part);
        Ok(())
    }

    /// The whole file, once its parts cover it.
    fn finish(mut self) -> Result<Vec<u8>, String> {
        if self.put.iter().map(|p| p.len()).sum::<usize>() != self.size {
            return Err(unreadable());
        }
        // SAFETY: the parts put are disjoint ranges of `0..size`, each written whole by
        // `copy_to_uninit`, and their lengths add up to `size`: every byte below `size` is
        // initialised (and `size` is within the capacity reserved).
        unsafe { self.bytes.set_len(self.size) };
        Ok(self.bytes)
    }
}

/// A file being read: its first slice, as soon as it is in, and the whole file once read
/// (shared, so the preview and the page can both wait for it).
pub struct ReadAhead {
    pub head: Vec<u8>,
    pub size: usize,
    pub rest: futures::future::Shared<
        futures::future::LocalBoxFuture<'static, super::lookup_client::WholeFile>,
    >,
}

/// Reads `file` as `read_file` does, but gives its first slice as soon as it is in, so the
/// preview parses it while the browser reads the rest; `None` for a file of one slice (read
/// whole, as before). The rest's slices are copied into the whole file's buffer as each comes,
/// by a task of their own, so no copy waits for the head's parse to end and then runs as one.
#[cfg(feature = "hydrate")]
pub async fn read_ahead(file: &web_sys::File) -> Result<Option<ReadAhead>, String> {
    use futures::{stream::FuturesUnordered, FutureExt, StreamExt};
    let size = file.size() as usize;
    let mut reads = ask_slices(file)?.into_iter();
    let (Some((first, read)), true) = (reads.next(), reads.len() > 0) else {
        return Ok(None);
    };
    // The whole file's buffer is reserved while the first slice is read (growing the
    // WebAssembly memory by the file's size is a cost of its own, though no byte is written).
    let mut bytes = Filling::new(size);
    let first_array = slice_read(&first, read.await)?;
    let head = first_array.to_vec();
    let (tx, rx) = futures::channel::oneshot::channel();
    let mut rest: FuturesUnordered<_> = reads
        .map(|(part, read)| async move { (part, read.await) })
        .collect();
    leptos::task::spawn_local(async move {
        // Each copy a task of its own, apart from the head's first parse step: together they
        // were one task of 62-99 ms.
        pause().await;
        if let Err(e) = bytes.put(first, &first_array) {
            return drop(tx.send(Err(e)));
        }
        while let Some((part, read)) = rest.next().await {
            pause().await;
            if let Err(e) = slice_read(&part, read).and_then(|array| bytes.put(part, &array)) {
                return drop(tx.send(Err(e)));
            }
        }
        let _ = tx.send(bytes.finish().map(std::sync::Arc::new));
    });
    let rest = async move { rx.await.unwrap_or_else(|_| Err(unreadable())) };
    Ok(Some(ReadAhead {
        head,
        size,
        rest: rest.boxed_local().shared(),
    }))
}

/// Sends `bytes[start..end]` as chunk `seq` of `stage`.
pub async fn send_chunk(stage: &str, seq: usize, bytes: &[u8]) -> Result<(), AppError> {
    #[cfg(feature = "hydrate")]
    {
        let fail = |_| AppError::Internal("the browser could not build the upload request".into());
        let form = web_sys::FormData::new().map_err(fail)?;
        form.append_with_str("stage", stage).map_err(fail)?;
        form.append_with_str("seq", &seq.to_string())
            .map_err(fail)?;
        let array = js_sys::Uint8Array::from(bytes);
        let parts = js_sys::Array::of1(&array);
        let blob = web_sys::Blob::new_with_u8_array_sequence(&parts).map_err(fail)?;
        form.append_with_blob_and_filename("data", &blob, "chunk")
            .map_err(fail)?;
        super::api::upload_chunk(form.into()).await
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (stage, seq, bytes);
        Err(AppError::Internal(
            "uploads are sent from the browser".into(),
        ))
    }
}

/// Offers `text` as a file download.
pub fn download(file_name: &str, text: &str) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
        let props = web_sys::BlobPropertyBag::new();
        props.set_type("text/csv;charset=utf-8");
        let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &props) else {
            return;
        };
        let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
            return;
        };
        if let Some(a) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.create_element("a").ok())
            .and_then(|e| e.dyn_into::<web_sys::HtmlAnchorElement>().ok())
        {
            a.set_href(&url);
            a.set_download(file_name);
            a.click();
        }
        let _ = web_sys::Url::revoke_object_url(&url);
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (file_name, text);
    }
}

/// The client of the server functions that carry a batch (the look-ups, effects and imports):
/// their bodies reach `fetch` as a `Blob`, not as the `ArrayBuffer` that server_fn's browser
/// client gives it (Json and Postcard bodies alike, `Post::into_req`). Chromium sends a large
/// `ArrayBuffer` body slowly and partly on the page's thread: 40 posts of 675 KB (a million
/// names' look-ups) took 2.9-4.4 s as `ArrayBuffer`s, 0.7-1.2 s of that inside `fetch` itself,
/// against 0.36-0.72 s as `Blob`s (curl: 0.24 s).
/// Everything else (headers, abort on drop, the answer, errors) is server_fn's own.
#[cfg(feature = "hydrate")]
pub use blob_bodies::BlobBodies;

/// On the server the client is never used; the default one stands in.
#[cfg(not(feature = "hydrate"))]
pub type BlobBodies = leptos::server_fn::client::browser::BrowserClient;

#[cfg(feature = "hydrate")]
mod blob_bodies {
    use futures::{Sink, Stream};
    use http::Method;
    use leptos::server_fn::client::{browser::BrowserClient, Client};
    use leptos::server_fn::error::{FromServerFnError, IntoAppError, ServerFnErrorErr};
    use leptos::server_fn::request::browser::{BrowserFormData, BrowserRequest, Request};
    use leptos::server_fn::request::ClientReq;
    use leptos::server_fn::response::browser::BrowserResponse;
    use leptos::server_fn::Bytes;
    use std::future::Future;
    use wasm_bindgen::JsValue;

    pub struct BlobBodies;

    /// server_fn's browser request, its body a `Blob`.
    pub struct BlobRequest(BrowserRequest);

    /// Gives `req` (made with an empty body) `body` as a `Blob`: `new Request(old, { body })`
    /// keeps the old one's method, headers and abort signal.
    fn with_blob_body<E: FromServerFnError>(
        req: &mut BrowserRequest,
        body: &[u8],
    ) -> Result<(), E> {
        // As `send_chunk`: what the browser refused says nothing an admin could act on.
        let fail = |_: JsValue| {
            ServerFnErrorErr::Request("the browser could not build the request".into())
                .into_app_error()
        };
        let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(body));
        let blob = web_sys::Blob::new_with_buffer_source_sequence(&parts).map_err(fail)?;
        // The request is taken out of `req` to be read (server_fn lends it only by reference);
        // an empty GET to the same address holds its place meanwhile.
        let placeholder = web_sys::Request::new_with_str(&req.url()).map_err(fail)?;
        let old: web_sys::Request =
            std::mem::replace(&mut **req, Request::from(placeholder)).into();
        let init = web_sys::RequestInit::new();
        init.set_body(&blob);
        let new = web_sys::Request::new_with_request_and_init(&old, &init).map_err(fail)?;
        **req = Request::from(new);
        Ok(())
    }

    impl<E: FromServerFnError> ClientReq<E> for BlobRequest {
        type FormData = BrowserFormData;

        fn try_new_req_query(
            path: &str,
            content_type: &str,
            accepts: &str,
            query: &str,
            method: Method,
        ) -> Result<Self, E> {
            <BrowserRequest as ClientReq<E>>::try_new_req_query(
                path,
                content_type,
                accepts,
                query,
                method,
            )
            .map(Self)
        }

        fn try_new_req_text(
            path: &str,
            content_type: &str,
            accepts: &str,
            body: String,
            method: Method,
        ) -> Result<Self, E> {
            // URL-encoded inputs only (small), sent as server_fn sends them.
            <BrowserRequest as ClientReq<E>>::try_new_req_text(
                path,
                content_type,
                accepts,
                body,
                method,
            )
            .map(Self)
        }

        fn try_new_req_bytes(
            path: &str,
            content_type: &str,
            accepts: &str,
            body: Bytes,
            method: Method,
        ) -> Result<Self, E> {
            let mut req = <BrowserRequest as ClientReq<E>>::try_new_req_bytes(
                path,
                content_type,
                accepts,
                Bytes::new(),
                method,
            )?;
            with_blob_body::<E>(&mut req, &body)?;
            Ok(Self(req))
        }

        fn try_new_req_form_data(
            path: &str,
            accepts: &str,
            content_type: &str,
            body: Self::FormData,
            method: Method,
        ) -> Result<Self, E> {
            <BrowserRequest as ClientReq<E>>::try_new_req_form_data(
                path,
                accepts,
                content_type,
                body,
                method,
            )
            .map(Self)
        }

        fn try_new_req_multipart(
            path: &str,
            accepts: &str,
            body: Self::FormData,
            method: Method,
        ) -> Result<Self, E> {
            <BrowserRequest as ClientReq<E>>::try_new_req_multipart(path, accepts, body, method)
                .map(Self)
        }

        fn try_new_req_streaming(
            path: &str,
            accepts: &str,
            content_type: &str,
            body: impl Stream<Item = Bytes> + Send + 'static,
            method: Method,
        ) -> Result<Self, E> {
            <BrowserRequest as ClientReq<E>>::try_new_req_streaming(
                path,
                accepts,
                content_type,
                body,
                method,
            )
            .map(Self)
        }
    }

    impl<E, IS, OS> Client<E, IS, OS> for BlobBodies
    where
        E: FromServerFnError,
        IS: FromServerFnError,
        OS: FromServerFnError,
    {
        type Request = BlobRequest;
        type Response = BrowserResponse;

        fn send(req: BlobRequest) -> impl Future<Output = Result<BrowserResponse, E>> + Send {
            <BrowserClient as Client<E, IS, OS>>::send(req.0)
        }

        #[allow(clippy::type_complexity)]
        fn open_websocket(
            path: &str,
        ) -> impl Future<
            Output = Result<
                (
                    impl Stream<Item = Result<Bytes, Bytes>> + Send + 'static,
                    impl Sink<Bytes> + Send + 'static,
                ),
                E,
            >,
        > + Send {
            <BrowserClient as Client<E, IS, OS>>::open_websocket(path)
        }

        fn spawn(future: impl Future<Output = ()> + Send + 'static) {
            <BrowserClient as Client<E, IS, OS>>::spawn(future)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::slices::{read_parts, READ_PARTS, READ_PART_MIN};

    #[test]
    fn read_parts_cover_the_file_once_in_order() {
        let mb = 1 << 20;
        for size in [
            0,
            1,
            1000,
            mb - 1,
            mb,
            mb + 1,
            4 * mb - 3,
            4 * mb,
            54_157_010,
            1 << 31,
        ] {
            let parts: Vec<_> = read_parts(size).collect();
            let mut next = 0;
            for part in &parts {
                assert_eq!(part.start, next, "size {size}: a gap or an overlap");
                assert!(!part.is_empty(), "size {size}: an empty part");
                next = part.end;
            }
            assert_eq!(next, size, "size {size}: the parts end early or late");
            assert!(
                parts.len() <= READ_PARTS,
                "size {size}: {} parts",
                parts.len()
            );
            // Only the last part may be shorter than the floor.
            if let Some((_, all_but_last)) = parts.split_last() {
                for part in all_but_last {
                    assert!(
                        part.len() >= READ_PART_MIN,
                        "size {size}: {part:?} under the floor"
                    );
                }
            }
        }
        assert_eq!(read_parts(54_157_010).count(), READ_PARTS);
        assert_eq!(read_parts(1000).count(), 1);
    }
}
