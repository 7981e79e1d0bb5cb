import { branchTo, latestLeaf, latestLeafUnder, treeOrder } from 'src/chats/chat.mapper';
import { Message } from 'src/chats/entities/message.entity';

const m = (id: string, parentId: string | null, at: number): Message =>
  ({ id, parentId, createdAt: new Date(at) }) as Message;

// u1 → a1 → u2 → a2
//                └→ a2b (regenerated, newer)
//           └→ u3 → a3 (edit of u2, newest)
const all = [
  m('u1', null, 1),
  m('a1', 'u1', 2),
  m('u2', 'a1', 3),
  m('a2', 'u2', 4),
  m('a2b', 'u2', 5),
  m('u3', 'a1', 6),
  m('a3', 'u3', 7),
];

describe('message tree helpers', () => {
  it('picks the most recent leaf as the current branch', () => {
    expect(latestLeaf(all)?.id).toBe('a3');
    expect(branchTo(all, 'a3').map((x) => x.id)).toEqual(['u1', 'a1', 'u3', 'a3']);
  });

  it('follows the newest child below a chosen message', () => {
    expect(latestLeafUnder(all, 'u2')).toBe('a2b');
    expect(latestLeafUnder(all, 'a2')).toBe('a2');
  });

  it('orders the whole tree parents first, siblings oldest first', () => {
    expect(treeOrder([...all].reverse()).map((x) => x.id)).toEqual(['u1', 'a1', 'u2', 'a2', 'a2b', 'u3', 'a3']);
  });

  it('returns an empty branch for an empty chat', () => {
    expect(latestLeaf([])).toBeNull();
    expect(branchTo([], null)).toEqual([]);
  });
});
