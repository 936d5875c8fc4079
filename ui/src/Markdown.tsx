import ReactMarkdown from "react-markdown";
import remarkGfm from "remark-gfm";
import { api } from "./api";

/** Only these links are ever followed from logged data; anything else renders as plain text. */
export function safeUrl(url: string): string | null {
  const u = url.trim();
  return /^https:\/\/[^\s]+$/i.test(u) || /^mailto:[^\s]+$/i.test(u) ? u : null;
}

/**
 * Notes from a run (MLflow's note tag) or a model card, as markdown. Raw HTML is shown as text,
 * images are not fetched (their alt text is shown) unless `images` holds them (a model card's
 * curves, by the name the text links), and links open in the browser only when https or mailto.
 */
export function Markdown(props: { text: string; images?: Record<string, string> }) {
  const images = props.images ?? {};
  const own = (src: string | undefined) => (src && Object.hasOwn(images, src) ? images[src] : null);
  return (
    <div className="markdown">
      <ReactMarkdown
        remarkPlugins={[remarkGfm]}
        urlTransform={(url) => safeUrl(url) ?? (own(url) ? url : "")}
        components={{
          a: ({ href, children }) => {
            const url = href ? safeUrl(href) : null;
            if (!url) return <span className="dead-link">{children}</span>;
            return (
              <a
                href={url}
                onClick={(e) => {
                  e.preventDefault();
                  api.openUrl(url).catch(() => {});
                }}
                title={url}
              >
                {children}
              </a>
            );
          },
          img: ({ alt, src }) => {
            const data = own(typeof src === "string" ? src : undefined);
            return data ? <img className="card-image" src={data} alt={alt ?? ""} /> : <span className="muted">[image: {alt}]</span>;
          },
        }}
      >
        {props.text}
      </ReactMarkdown>
    </div>
  );
}
