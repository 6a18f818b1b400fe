//! How the web view is set up to stay light: the dashboard is one local page of text,
//! so it needs no page cache, no resource cache beyond the document, no GPU and none of
//! the web platform's heavy features (WebGL, media, Web Audio). Measured with
//! `desktop-bench` (see README).

use tauri::{Runtime, WebviewWindow};

/// Applies the light settings to `window`'s web view (`WebKitGTK` on Linux; elsewhere the
/// platform's defaults stay).
pub fn make_light<R: Runtime>(window: &WebviewWindow<R>) {
    #[cfg(target_os = "linux")]
    if let Err(error) = window.with_webview(|webview| linux::make_light(&webview.inner())) {
        tracing::warn!(%error, "could not tune the web view; it keeps WebKit's defaults");
    }
    #[cfg(not(target_os = "linux"))]
    let _ = window;
}

#[cfg(target_os = "linux")]
mod linux {
    use webkit2gtk::{
        CacheModel, HardwareAccelerationPolicy, SettingsExt as _, WebContextExt as _,
        WebViewExt as _,
    };

    pub(super) fn make_light(webview: &webkit2gtk::WebView) {
        if let Some(context) = webview.context() {
            // No memory cache of resources, no back/forward pages kept alive.
            context.set_cache_model(CacheModel::DocumentViewer);
        }
        if let Some(settings) = webview.settings() {
            settings.set_enable_page_cache(false);
            settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
            settings.set_enable_webgl(false);
            settings.set_enable_media(false);
            settings.set_enable_media_stream(false);
            settings.set_enable_webaudio(false);
            settings.set_enable_dns_prefetching(false);
            settings.set_enable_html5_database(false);
            settings.set_enable_offline_web_application_cache(false);
        }
    }
}
