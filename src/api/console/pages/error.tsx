import type { PageFrame } from './layout';
import { Layout, Notice } from './layout';

/** A refusal or failure as a page: its status, what happened, and where to go on. */
export function ErrorPage({ frame, status, message }: { frame: PageFrame; status: number; message: string }) {
  const heading =
    status === 403
      ? 'Not allowed'
      : status === 404
        ? 'Not found'
        : status >= 500
          ? 'Something went wrong'
          : 'This request was refused';
  return (
    <Layout frame={{ ...frame, title: heading }}>
      <h1>{heading}</h1>
      <Notice kind="error">{message}</Notice>
      <p>
        <a href="/console">Back to the console</a>
      </p>
    </Layout>
  );
}
