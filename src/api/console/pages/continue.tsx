import type { PageFrame } from './layout';
import { Layout } from './layout';

/** On the way to the payment provider's hosted page (the browser goes on by itself). */
export function ContinuePage({ frame, url }: { frame: PageFrame; url: string }) {
  return (
    <Layout frame={frame}>
      <h1>Add or replace card</h1>
      <p>You add the card on the payment provider’s secure page; it sends you back here.</p>
      <p>
        <a href={url}>Continue</a>
      </p>
    </Layout>
  );
}
