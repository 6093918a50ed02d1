import type { Event } from '@jupyterlab/services';
import { Stream } from '@lumino/signaling';

import { JOB_SCHEMA, JobFeed, type IJobChange } from '../jobs/feed';

/** An event manager whose stream the test emits into. */
function fakeEvents(): {
  events: Event.IManager;
  emit: (data: Record<string, unknown>) => void;
} {
  const owner = {} as Event.IManager;
  const stream = new Stream<Event.IManager, Event.Emission>(owner);
  Object.assign(owner, { stream, isDisposed: false });
  return {
    events: owner,
    emit: data =>
      stream.emit({ schema_id: JOB_SCHEMA, ...data } as Event.Emission)
  };
}

describe('JobFeed', () => {
  it('passes job changes on, not heartbeats or other schemas', () => {
    const { events, emit } = fakeEvents();
    const feed = new JobFeed(events);
    const seen: IJobChange[] = [];
    feed.changed.connect((_, change) => seen.push(change));
    emit({ kind: 'heartbeat', seq: 1, server: 'a' });
    emit({
      kind: 'state',
      seq: 2,
      server: 'a',
      job_id: 'j1',
      state: 'running'
    });
    (events.stream as Stream<Event.IManager, Event.Emission>).emit({
      schema_id: 'https://events.jupyter.org/jupyter_server/contents_service/v1'
    });
    expect(seen.map(c => c.job_id)).toEqual(['j1']);
    feed.dispose();
  });

  it('goes live on the first emission and asks for a read then', () => {
    const { events, emit } = fakeEvents();
    const feed = new JobFeed(events);
    const live: boolean[] = [];
    let resyncs = 0;
    feed.liveChanged.connect((_, value) => live.push(value));
    feed.resync.connect(() => resyncs++);
    expect(feed.live).toBe(false);
    emit({ kind: 'heartbeat', seq: 7, server: 'a' });
    expect(feed.live).toBe(true);
    expect(live).toEqual([true]);
    expect(resyncs).toBe(1);
    feed.dispose();
  });

  it('asks for a read after a missed number or another server', () => {
    const { events, emit } = fakeEvents();
    const feed = new JobFeed(events);
    let resyncs = 0;
    emit({ kind: 'heartbeat', seq: 1, server: 'a' });
    feed.resync.connect(() => resyncs++);
    emit({ kind: 'event', seq: 2, server: 'a', job_id: 'j' });
    expect(resyncs).toBe(0);
    emit({ kind: 'event', seq: 4, server: 'a', job_id: 'j' });
    expect(resyncs).toBe(1);
    emit({ kind: 'heartbeat', seq: 1, server: 'b' });
    expect(resyncs).toBe(2);
    feed.dispose();
  });

  it('falls silent without emissions and comes back with a read', () => {
    jest.useFakeTimers();
    const { events, emit } = fakeEvents();
    const feed = new JobFeed(events, 1000);
    let resyncs = 0;
    emit({ kind: 'heartbeat', seq: 1, server: 'a' });
    feed.resync.connect(() => resyncs++);
    jest.advanceTimersByTime(1600);
    expect(feed.live).toBe(false);
    emit({ kind: 'heartbeat', seq: 2, server: 'a' });
    expect(feed.live).toBe(true);
    expect(resyncs).toBe(1);
    feed.dispose();
    jest.useRealTimers();
  });

  it('is one per event manager', () => {
    const { events } = fakeEvents();
    expect(JobFeed.of(events)).toBe(JobFeed.of(events));
    JobFeed.of(events).dispose();
  });
});
