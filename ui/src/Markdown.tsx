import ReactMarkdown from "react-markdown";
import remarkGfm from "remark-gfm";
import { api } from "./api";

/** Only these links are ever followed from logged data; anything else renders as plain text. */
export function safeUrl(url: string): string | null {
  const u = url.trim();
  return /^https:\/\/[^\s]+$/i.test(u) || /^mailto:[^\s]+$/i.test(u) ? u : null;
}

/**
 * Notes from a run (MLflow's note tag), as markdown. Raw HTML is shown as text, images are not
 * fetched (their alt text is shown), and links open in the browser only when https or mailto.
 */
export function Markdown(props: { text: string }) {
  return (
    <div className="markdown">
      <ReactMarkdown
        remarkPlugins={[remarkGfm]}
        urlTransform={(url) => safeUrl(url) ?? ""}
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
          img: ({ alt }) => <span className="muted">[image: {alt}]</span>,
        }}
      >
        {props.text}
      </ReactMarkdown>
    </div>
  );
}
